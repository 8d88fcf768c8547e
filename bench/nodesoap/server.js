// The node-soap baseline of bench/compare: a Partner API server a team would write instead of
// partnerd, with node-soap (npm "soap", pinned by package-lock.json) serving partnerd's own WSDL.
// Perform (cancel, pause, resume on Send) and Retrieve (Send by ID) work over an in-memory map
// seeded with --seed Scheduled Sends (IDs 1..N); the UsernameToken check is username + password
// (PasswordText). Unlike partnerd it keeps no nonces, no request log and nothing durable: it is
// the cheap end of what "the same API" can cost.
//
// usage: node server.js --port P --username U --password P [--seed N] [--wsdl-dir DIR]
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const soap = require('soap');

function parseArgs(argv) {
  const o = { port: '0', seed: '10000', 'wsdl-dir': path.join(__dirname, '..', '..', 'wsdl') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) o[argv[i].slice(2)] = argv[++i];
  }
  if (!o.username || !o.password) throw new Error('--username and --password are required');
  return o;
}

const opts = parseArgs(process.argv.slice(2));

const sends = new Map();
for (let id = 1; id <= Number(opts.seed); id++) {
  sends.set(id, { ID: id, Status: 'Scheduled' });
}

const list = (x) => (x === undefined || x === null ? [] : Array.isArray(x) ? x : [x]);
// node-soap parses an element with attributes (Type=…) into {$value, attributes}.
const textOf = (x) => (x !== null && typeof x === 'object' ? x.$value : x);

const transitions = {
  cancel: { Scheduled: 'Canceled', Paused: 'Canceled', Canceled: 'Canceled' },
  pause: { Scheduled: 'Paused', Paused: 'Paused' },
  resume: { Paused: 'Scheduled', Scheduled: 'Scheduled' },
};
const pastTense = { cancel: 'canceled', pause: 'paused', resume: 'resumed' };

function perform(args) {
  const action = String(textOf(args.Action) || '').trim().toLowerCase();
  const defs = list(args.Definitions && args.Definitions.Definition);
  let failed = 0;
  const results = defs.map((d, i) => {
    const id = Number(textOf(d.ID));
    const send = sends.get(id);
    const to = send && transitions[action] && transitions[action][send.Status];
    if (!to) {
      failed++;
      const msg = send ? `Cannot ${action} Send ${id}` : `no Send with ID ${id}`;
      return {
        StatusCode: 'Error', StatusMessage: msg, OrdinalID: i, ErrorCode: send ? 7093 : 7091,
        Object: { attributes: { 'xsi:type': 'Send' }, ID: id },
        Task: { StatusCode: 'Error', StatusMessage: msg },
      };
    }
    send.Status = to;
    return {
      StatusCode: 'OK', StatusMessage: 'Send ' + pastTense[action], OrdinalID: i,
      Object: { attributes: { 'xsi:type': 'Send' }, ID: id, Status: to },
      Task: { StatusCode: 'OK', StatusMessage: 'OK', ID: String(id) },
    };
  });
  const overall = failed === 0 ? 'OK' : failed === results.length ? 'Error' : 'HasErrors';
  return {
    Results: { Result: results },
    OverallStatus: overall,
    OverallStatusMessage: failed === 0 ? '' : `${failed} of ${results.length} objects failed`,
    RequestID: crypto.randomUUID(),
  };
}

function retrieve(args) {
  const rr = args.RetrieveRequest || {};
  const id = Number(textOf(list(rr.Filter && rr.Filter.Value)[0]));
  const send = sends.get(id);
  return {
    OverallStatus: 'OK',
    RequestID: crypto.randomUUID(),
    Results: send ? [{ attributes: { 'xsi:type': 'Send' }, ID: send.ID, Status: send.Status }] : [],
  };
}

const services = {
  PartnerAPI: {
    Soap: {
      Perform: (args) => perform(args),
      Retrieve: (args) => retrieve(args),
    },
  },
};

const wsdlXML = fs.readFileSync(path.join(opts['wsdl-dir'], 'partnerAPI.wsdl'), 'utf8');
const httpServer = http.createServer((req, res) => {
  res.statusCode = 404;
  res.end();
});
httpServer.keepAliveTimeout = 120000;

httpServer.listen(Number(opts.port), '127.0.0.1', () => {
  const soapServer = soap.listen(httpServer, {
    path: '/Service.asmx',
    services,
    xml: wsdlXML,
    // The WSDL imports ETFrameworkFault.xsd relatively: resolve it from disk.
    uri: path.join(opts['wsdl-dir'], 'partnerAPI.wsdl'),
  });
  // The same check partnerd makes for PasswordText, minus the nonce and
  // freshness checks node-soap has no place for.
  soapServer.authenticate = (security) => {
    const tok = security && security.UsernameToken;
    return !!tok && textOf(tok.Username) === opts.username && textOf(tok.Password) === opts.password;
  };
  const addr = httpServer.address();
  console.log(`node-soap listening on http://127.0.0.1:${addr.port}/Service.asmx`);
});
