// node-soap (npm "soap", pinned in package.json) against partnerd, the way a node-soap user
// writes it: createClientAsync(wsdl, {endpoint}), WSSecurity for the UsernameToken (node-soap
// adds a wsu:Timestamp by default), attributes.xsi_type for the polymorphic APIObject parts.
//
// usage: node client.js --wsdl URL|FILE --endpoint URL --user U --password P [--digest] --label L
'use strict';

const crypto = require('crypto');
const soap = require('soap');

const NS = 'http://exacttarget.com/wsdl/partnerAPI';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UNKNOWN_ID = 999999;
const EMAIL_ID = 5001;
const LIST_ID = 6001;

function parseArgs(argv) {
  const o = { digest: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--digest') o.digest = true;
    else if (a.startsWith('--')) o[a.slice(2)] = argv[++i];
  }
  for (const k of ['wsdl', 'endpoint', 'user', 'password', 'label']) {
    if (!o[k]) throw new Error('missing --' + k);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
let passed = 0;
let failed = 0;

function check(name, cond, detail) {
  if (cond) {
    passed++;
    console.log(`ok   ${opts.label}: ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${opts.label}: ${name}: ${detail || ''}`);
  }
  return cond;
}

async function step(name, fn) {
  try {
    return await fn();
  } catch (e) {
    console.error(e && e.stack ? e.stack : e);
    check(name, false, `${e && e.name}: ${String(e && e.message).slice(0, 500)}`);
    return undefined;
  }
}

const list = (x) => (x === undefined || x === null ? [] : Array.isArray(x) ? x : [x]);
// node-soap's way to write xsi:type: attributes.xsi_type {type, xmlns} (it declares the prefix).
const xsiType = (type) => ({ attributes: { xsi_type: { type, xmlns: NS } } });
const send = (fields) => ({ ...xsiType('Send'), ...fields });
const simple = (op, values) => ({
  ...xsiType('SimpleFilterPart'),
  Property: 'ID',
  SimpleOperator: op,
  Value: values.map(String),
});

async function makeClient(password) {
  const client = await soap.createClientAsync(opts.wsdl, { endpoint: opts.endpoint });
  client.setSecurity(new soap.WSSecurity(opts.user, password, {
    passwordType: opts.digest ? 'PasswordDigest' : 'PasswordText',
    hasTimeStamp: true,
  }));
  return client;
}

async function retrieve(client, filter) {
  const [r] = await client.RetrieveAsync({
    RetrieveRequest: { ObjectType: 'Send', Properties: ['ID', 'SendDate', 'Status', 'Email.ID'], Filter: filter },
  });
  const sends = list(r.Results).map((s) => [
    Number(s.ID),
    s.Status,
    s.SendDate === undefined ? null : Math.floor(new Date(s.SendDate).getTime() / 1000),
    s.Email ? Number(s.Email.ID) : null,
  ]);
  return { overall: r.OverallStatus, sends };
}

async function perform(client, action, ids) {
  const [r] = await client.PerformAsync({
    Options: {},
    Action: action,
    Definitions: { Definition: ids.map((id) => send({ ID: id })) },
  });
  const results = list(r.Results && r.Results.Result).map((x) => [x.StatusCode, x.ErrorCode === undefined ? null : Number(x.ErrorCode)]);
  return { overall: r.OverallStatus, results, rid: r.RequestID };
}

const sameIds = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

async function main() {
  const client = await step('load WSDL and build client', () => makeClient(opts.password));
  if (!client) return;
  check('load WSDL and build client', true);

  const sendDate = new Date(Date.now() + 2 * 3600 * 1000);
  sendDate.setUTCMilliseconds(0);

  let ids = [];
  await step('Create two Sends', async () => {
    const run = crypto.randomUUID().slice(0, 8); // CustomerKey is unique per account: one per run
    const objs = [0, 1].map((i) => send({
      CustomerKey: `interop-node-${run}-${i}`,
      Email: { ID: EMAIL_ID },
      List: [{ ID: LIST_ID }],
      SendDate: sendDate.toISOString(),
      Subject: `interop node ${i}`,
      EmailName: `interop-node-${i}`,
    }));
    const [r] = await client.CreateAsync({ Options: {}, Objects: objs });
    const results = list(r.Results).map((x) => [x.StatusCode, Number(x.NewID)]);
    ids = results.map((x) => x[1]);
    check('Create two Sends',
      r.OverallStatus === 'OK' && results.length === 2 && results.every((x) => x[0] === 'OK' && x[1] > 0) && ids[0] !== ids[1],
      `OverallStatus=${r.OverallStatus} results=${JSON.stringify(results)}`);
  });
  if (ids.length !== 2) ids = [UNKNOWN_ID - 1, UNKNOWN_ID - 2];

  await step('Retrieve both (SimpleFilterPart ID IN)', async () => {
    const r = await retrieve(client, simple('IN', ids));
    check('Retrieve both (SimpleFilterPart ID IN)',
      r.overall === 'OK' && sameIds(r.sends.map((s) => s[0]), ids) && r.sends.every((s) => s[1] === 'Scheduled'),
      JSON.stringify(r));
    const want = Math.floor(sendDate.getTime() / 1000);
    check('Retrieve returns SendDate and Email.ID as created',
      r.sends.length === 2 && r.sends.every((s) => s[2] === want && s[3] === EMAIL_ID),
      `want SendDate=${want} Email.ID=${EMAIL_ID}, got ${JSON.stringify(r.sends)}`);
  });

  await step('Perform cancel on both', async () => {
    const r = await perform(client, 'cancel', ids);
    check('Perform cancel on both', r.overall === 'OK' && JSON.stringify(r.results.map((x) => x[0])) === '["OK","OK"]', JSON.stringify(r));
    check('Perform RequestID is a GUID', typeof r.rid === 'string' && GUID.test(r.rid), JSON.stringify(r.rid));
  });

  await step('Perform cancel on unknown ID', async () => {
    const r = await perform(client, 'cancel', [UNKNOWN_ID]);
    check('Perform cancel on unknown ID',
      r.overall === 'Error' && r.results.length === 1 && r.results[0][0] === 'Error' && r.results[0][1] > 0,
      JSON.stringify(r));
  });

  await step('wrong password raises a fault', async () => {
    const bad = await makeClient('wrong-password');
    let err;
    try {
      await perform(bad, 'cancel', ids);
    } catch (e) {
      err = e;
    }
    const fault = err && err.root && err.root.Envelope && err.root.Envelope.Body && err.root.Envelope.Body.Fault;
    // faultcode + faultstring (SOAP 1.1), as node-soap parsed them.
    const text = fault ? JSON.stringify([fault.faultcode, fault.faultstring]) : '';
    check('wrong password raises a fault', !!fault && text.includes('Login failed') && text.includes('Security'),
      err ? `${err.message} ${text}` : 'no error');
  });

  await step('Retrieve after cancel (ComplexFilterPart OR)', async () => {
    const r = await retrieve(client, {
      ...xsiType('ComplexFilterPart'),
      LeftOperand: simple('equals', [ids[0]]),
      LogicalOperator: 'OR',
      RightOperand: simple('equals', [ids[1]]),
    });
    check('Retrieve after cancel (ComplexFilterPart OR)',
      r.overall === 'OK' && sameIds(r.sends.map((s) => s[0]), ids) && r.sends.every((s) => s[1] === 'Canceled'),
      JSON.stringify(r));
  });
}

main()
  .catch((e) => {
    console.error(e);
    check('scenario', false, String(e));
  })
  .finally(() => {
    console.log(`RESULT pass=${passed} fail=${failed}`);
    process.exitCode = failed ? 1 : 0;
  });
