#!/usr/bin/env node
// interop/fuel/fuelsoap.js: fuel-soap 2.2.4 with fuel-auth 3.3.0 used directly (the packages
// FuelSDK-Node is built on, pinned in package-lock.json), in fuel-auth's default legacy mode:
// authUrl is the full POST /v1/requestToken URL (fuel-auth sends clientId/clientSecret and reads
// accessToken/expiresIn) and soapEndpoint is the server's Service.asmx, as a legacy-package user
// configures them. Checks: token, Create Send, Perform cancel (hand-built PerformRequestMsg, as
// fuel-soap's perform() only starts), Retrieve Canceled; then, with --admin, the server's manual
// clock moves past the legacy token's hour: the next Create gets "Token Expired" (fuel-soap's one
// retry reuses the token), getAccessToken({force: true}) renews it and Create succeeds. Prints
// "ok <check>" / "FAIL <check>: <why>" per check and a closing "RESULT" line.
//
//   node fuelsoap.js --base http://127.0.0.1:PORT --id CLIENTID --secret SECRET
//                    [--admin http://127.0.0.1:PORT --admin-token T] [--label L]
'use strict';

const FuelSoap = require('fuel-soap');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const label = args.label || 'fuel/fuel-soap';
const base = args.base.replace(/\/$/, '');

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

const soap = new FuelSoap({
  auth: { clientId: args.id, clientSecret: args.secret, authUrl: `${base}/v1/requestToken` },
  soapEndpoint: `${base}/Service.asmx`,
});

function promised(fn) {
  return new Promise((resolve) => fn((err, res) => resolve({ err, body: res && res.body })));
}
const describe = (r) => (r.err ? `${r.err.message || r.err} ${JSON.stringify(r.err.res || r.err.faultstring || '')}` : JSON.stringify(r.body));
const token = (force) => new Promise((resolve) => soap.AuthClient.getAccessToken({ force }, (err, body) => resolve({ err, body })));

function create(name) {
  return promised((cb) => soap.create('Send', {
    Email: { ID: 100 }, List: [{ ID: 200 }], SendDate: new Date(Date.now() + 3 * 3600 * 1000).toISOString(), EmailName: name,
  }, cb));
}
const newID = (c) => c.body && c.body.Results && c.body.Results[0] && c.body.Results[0].NewID;

function cancel(id) {
  return promised((cb) => soap.soapRequest({
    action: 'Perform',
    req: { PerformRequestMsg: { $: { xmlns: 'http://exacttarget.com/wsdl/partnerAPI' },
      Action: 'cancel', Definitions: { Definition: { $: { 'xsi:type': 'Send' }, ID: id } } } },
    key: 'PerformResponseMsg',
    retry: true,
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
  const tok = await token(false);
  check('token from /v1/requestToken', !tok.err && tok.body && tok.body.accessToken && typeof tok.body.expiresIn === 'number',
    tok.err ? tok.err.message : JSON.stringify({ ...tok.body, accessToken: '…' }));

  const c = await create('interop-fuelsoap-1');
  const id = newID(c);
  check('Create Send', !c.err && c.body.OverallStatus === 'OK' && id, describe(c));
  if (!id) return;
  const p = await cancel(id);
  check('Perform cancel', !p.err && p.body.OverallStatus === 'OK', describe(p));
  const r = await promised((cb) => soap.retrieve('Send', ['ID', 'Status'],
    { filter: { leftOperand: 'ID', operator: 'equals', rightOperand: String(id) } }, cb));
  const row = r.body && r.body.Results && r.body.Results[0];
  check('Retrieve reads Canceled', !r.err && row && row.Status === 'Canceled', describe(r));

  if (!args.admin) return;
  const moved = await moveClock('61m');
  check('admin clock moved 61m', moved === 200, `HTTP ${moved}`);
  const c2 = await create('interop-fuelsoap-2');
  check('the old token gets "Token Expired"', c2.err && c2.err.faultstring === 'Token Expired', describe(c2));
  const fresh = await token(true);
  check('a new token', !fresh.err && fresh.body && fresh.body.accessToken && fresh.body.accessToken !== tok.body.accessToken,
    fresh.err ? fresh.err.message : 'same token');
  const c3 = await create('interop-fuelsoap-3');
  check('Create Send with the new token', !c3.err && c3.body.OverallStatus === 'OK' && newID(c3), describe(c3));
}

main()
  .catch((err) => check('no exception', false, err && err.stack))
  .finally(() => {
    console.log(`RESULT ${label}: ${passed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
  });
