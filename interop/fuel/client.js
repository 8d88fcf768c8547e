#!/usr/bin/env node
// interop/fuel/client.js: Salesforce's FuelSDK-Node (sfmc-fuelsdk-node, pinned in
// package-lock.json, with its fuel-auth and fuel-soap) given only partnerd's base URL, as an
// Installed Package's "Authentication Base URI" (with its trailing slash, so the SDK posts to
// //v2/token): it fetches a token, finds the SOAP endpoint in soap_instance_url, Creates a Send,
// cancels it with Perform (a hand-built PerformRequestMsg through soapRequest, as fuel-soap's
// perform() only starts) and Retrieves it Canceled. Then, when --admin is given, it moves the
// server's manual clock past the token's life: the next call gets the "Token Expired" fault,
// fetches a new token and succeeds. Prints "ok <check>" / "FAIL <check>: <why>" per check and
// a closing "RESULT" line, like the other clients of interop/run.sh.
//
//   node client.js --base http://127.0.0.1:PORT --id CLIENTID --secret SECRET --mid 12345
//                  [--admin http://127.0.0.1:PORT --admin-token T] [--label L]
'use strict';

const ET_Client = require('sfmc-fuelsdk-node');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const label = args.label || 'fuel/node';

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

const client = new ET_Client(args.id, args.secret, null, {
  authOrigin: args.base.replace(/\/?$/, '/'),
  authOptions: { authVersion: 2, accountId: args.mid },
});
const soap = client.SoapClient;

// promised turns fuel-soap's callback API into a promise of {err, body}.
function promised(fn) {
  return new Promise((resolve) => fn((err, res) => resolve({ err, body: res && res.body })));
}

const describe = (r) => (r.err ? `${r.err.message || r.err} ${JSON.stringify(r.err.res || r.err.faultstring || '')}` : JSON.stringify(r.body));

function cancel(id, auth) {
  return promised((cb) => soap.soapRequest({
    action: 'Perform',
    req: { PerformRequestMsg: { $: { xmlns: 'http://exacttarget.com/wsdl/partnerAPI' },
      Action: 'cancel', Definitions: { Definition: { $: { 'xsi:type': 'Send' }, ID: id } } } },
    key: 'PerformResponseMsg',
    retry: true,
    auth: auth || {},
  }, cb));
}

function statusOf(id) {
  return promised((cb) => soap.retrieve('Send', ['ID', 'Status'],
    { filter: { leftOperand: 'ID', operator: 'equals', rightOperand: String(id) } }, cb));
}

function create(name) {
  const sendDate = new Date(Date.now() + 3 * 3600 * 1000).toISOString();
  return promised((cb) => soap.create('Send', {
    Email: { ID: 100 }, List: [{ ID: 200 }], SendDate: sendDate, EmailName: name,
  }, cb));
}

async function moveClock(by) {
  const res = await fetch(`${args.admin}/admin/clock`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${args['admin-token']}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ advance: by }),
  });
  return res.status;
}

async function main() {
  const tok = await new Promise((resolve) => client.FuelAuthClient.getAccessToken({}, (err, body) => resolve({ err, body })));
  check('token from //v2/token', !tok.err && tok.body && tok.body.accessToken && typeof tok.body.expires_in === 'number' &&
    tok.body.soap_instance_url === args.base.replace(/\/?$/, '/'), tok.err ? tok.err.message : JSON.stringify({ ...tok.body, accessToken: '…', access_token: '…' }));

  const c = await create('interop-fuel-1');
  const created = c.body && c.body.Results && c.body.Results[0];
  const id = created && (created.NewID || (created.Object && created.Object.ID));
  check('Create Send', !c.err && c.body.OverallStatus === 'OK' && id, describe(c));
  if (!id) return;

  const p = await cancel(id);
  check('Perform cancel', !p.err && p.body.OverallStatus === 'OK', describe(p));

  const r = await statusOf(id);
  const row = r.body && r.body.Results && r.body.Results[0];
  check('Retrieve reads Canceled', !r.err && row && row.Status === 'Canceled', describe(r));

  if (!args.admin) return;
  // The server's clock moves past the token's life (18 min + 2 min grace); the SDK's own clock
  // does not, so it still sends the old token.
  const moved = await moveClock('25m');
  check('admin clock moved 25m', moved === 200, `HTTP ${moved}`);
  const c2 = await create('interop-fuel-2');
  check('the old token gets "Token Expired"', c2.err && c2.err.faultstring === 'Token Expired', describe(c2));
  // fuel-soap retried once on that string, with the same token: fuel-auth renews only when its
  // local clock says the token expired (fuel-auth-notes §5). The caller forces the renewal.
  const fresh = await new Promise((resolve) => client.FuelAuthClient.getAccessToken({ force: true }, (err, body) => resolve({ err, body })));
  check('a new token', !fresh.err && fresh.body && fresh.body.accessToken && fresh.body.accessToken !== tok.body.accessToken,
    fresh.err ? fresh.err.message : 'same token');
  const c3 = await create('interop-fuel-3');
  const id3 = c3.body && c3.body.Results && c3.body.Results[0] && c3.body.Results[0].NewID;
  check('Create Send with the new token', !c3.err && c3.body.OverallStatus === 'OK' && id3, describe(c3));
  const p3 = await cancel(id3);
  check('Perform cancel with the new token', !p3.err && p3.body.OverallStatus === 'OK', describe(p3));
}

main()
  .catch((err) => check('no exception', false, err && err.stack))
  .finally(() => {
    console.log(`RESULT ${label}: ${passed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
  });
