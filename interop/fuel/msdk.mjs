#!/usr/bin/env node
// interop/fuel/msdk.mjs: sfmc-sdk (DougMidgley/SFMC-SDK, pinned in package-lock.json) against
// partnerd given only its base URL. sfmc-sdk's constructor accepts only an auth_url of the form
// https://<28 chars>.auth.marketingcloudapis.com/, so the client is built with such a URL and
// then pointed at partnerd by setting sdk.auth.authObject.auth_url, which the SDK reads on every
// token request (fuel-auth-notes §4; no library file changed). The SOAP endpoint comes from the
// token's soap_instance_url only. Checks: token, Create Send, Perform cancel (sfmc-sdk's
// perform() takes any action), Retrieve Canceled, a partly failed cancel read as "Has Errors",
// a failed Retrieve read as "Error: <text>"; then, with --admin, the server's manual clock moves
// past the token's life and the next Create gets "Token Expired", which sfmc-sdk answers by
// forcing a new token and retrying once (requestAttempts 2). Prints "ok <check>" /
// "FAIL <check>: <why>" per check and a closing "RESULT" line, like interop/fuel/client.js.
//
//   node msdk.mjs --base http://127.0.0.1:PORT --id CLIENTID --secret SECRET --mid 12345
//                 [--admin http://127.0.0.1:PORT --admin-token T] [--label L]
import SDK from 'sfmc-sdk';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const label = args.label || 'fuel/sfmc-sdk';
const base = args.base.replace(/\/?$/, '/');

let passed = 0;
let failed = 0;
function check(name, ok, why) {
  if (ok) {
    passed++;
    console.log(`ok ${label}: ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${label}: ${name}: ${why}`);
  }
}

let refreshes = 0;
const sdk = new SDK({
  client_id: args.id,
  client_secret: args.secret,
  account_id: args.mid,
  auth_url: 'https://mcxxxxxxxxxxxxxxxxxxxxxxxxxx.auth.marketingcloudapis.com/',
}, {
  requestAttempts: 2, // one retry: sfmc-sdk refreshes on "Token Expired" only when a retry is left
  retryOnConnectionError: false,
  eventHandlers: { onRefresh: () => { refreshes++; } },
});
sdk.auth.authObject.auth_url = base;

// attempt runs an SDK call and returns {res} or {err}, never throwing.
async function attempt(fn) {
  try {
    return { res: await fn() };
  } catch (err) {
    return { err };
  }
}
const describe = (r) => (r.err ? `${r.err.name}: ${r.err.message} (code ${r.err.code})` : JSON.stringify(r.res));

const sendDate = () => new Date(Date.now() + 3 * 3600 * 1000).toISOString();
const create = (name) => attempt(() => sdk.soap.create('Send', {
  Email: { ID: 100 }, List: { ID: 200 }, SendDate: sendDate(), EmailName: name,
}));
const newID = (r) => r.res && r.res.Results && r.res.Results[0] && r.res.Results[0].NewID;

async function moveClock(by) {
  const res = await fetch(`${args.admin}/admin/clock`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${args['admin-token']}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ advance: by }),
  });
  return res.status;
}

async function main() {
  const tok = await attempt(() => sdk.auth.getAccessToken());
  const a = tok.res || {};
  check('token from /v2/token', !tok.err && a.access_token && a.token_type === 'Bearer' && typeof a.expires_in === 'number' &&
    a.soap_instance_url === base && /^http:\/\/.*\/$/.test(a.rest_instance_url),
  tok.err ? describe(tok) : JSON.stringify({ ...a, access_token: '…', client_secret: '…' }));
  const firstToken = a.access_token;

  const c = await create('interop-msdk-1');
  const id = newID(c);
  check('Create Send (no <Options>)', !c.err && c.res.OverallStatus === 'OK' && id, describe(c));
  if (!id) return;

  const p = await attempt(() => sdk.soap.perform('Send', 'cancel', { ID: id }));
  check('Perform cancel', !p.err && p.res.OverallStatus === 'OK', describe(p));

  const r = await attempt(() => sdk.soap.retrieve('Send', ['ID', 'Status'],
    { filter: { leftOperand: 'ID', operator: 'equals', rightOperand: String(id) } }));
  const row = r.res && r.res.Results && r.res.Results[0];
  check('Retrieve reads Canceled', !r.err && row && row.Status === 'Canceled', describe(r));

  // A cancel of one real and one unknown Send: sfmc-sdk throws only on "Error" or "Has Errors".
  const c2 = await create('interop-msdk-2');
  const id2 = newID(c2);
  const partly = await attempt(() => sdk.soap._apiRequest({
    action: 'Perform',
    req: { PerformRequestMsg: { '@_xmlns': 'http://exacttarget.com/wsdl/partnerAPI', Action: 'cancel',
      Definitions: { Definition: [{ '@_xsi:type': 'Send', ID: id2 }, { '@_xsi:type': 'Send', ID: 999999 }] } } },
    key: 'PerformResponseMsg',
  }, 1));
  check('a partly failed cancel throws "Has Errors"', partly.err && partly.err.code === 'Has Errors', describe(partly));

  const bad = await attempt(() => sdk.soap.retrieve('NoSuchObject', ['ID']));
  check('a failed Retrieve throws its "Error: <text>"', bad.err && bad.err.code === 'Error' && bad.err.message.length > 0 &&
    !bad.err.message.startsWith('Error'), describe(bad));

  if (!args.admin) return;
  const moved = await moveClock('25m');
  check('admin clock moved 25m', moved === 200, `HTTP ${moved}`);
  const before = refreshes;
  const c3 = await create('interop-msdk-3');
  check('"Token Expired" → a new token → Create retried and OK', !c3.err && c3.res.OverallStatus === 'OK' && newID(c3) &&
    refreshes === before + 1 && sdk.auth.authObject.access_token !== firstToken, `${describe(c3)}; refreshes ${refreshes - before}`);
}

main()
  .catch((err) => check('no exception', false, err && err.stack))
  .finally(() => {
    console.log(`RESULT ${label}: ${passed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
  });
