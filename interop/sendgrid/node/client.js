#!/usr/bin/env node
// interop/sendgrid/node/client.js: the official SendGrid Node.js clients (@sendgrid/client and
// @sendgrid/mail, pinned in package-lock.json) driven against partnerd's SendGrid v3 face, through
// every endpoint group it serves. Prints "ok <check>" / "FAIL <check>: <why>" per check and a
// closing "RESULT" line, like the SOAP clients of interop/run.sh.
//
//   node client.js --base http://127.0.0.1:PORT --key SG.xxx.yyy [--label L]
'use strict';

const { Client } = require('@sendgrid/client');
const sgMail = require('@sendgrid/mail');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const base = args.base.replace(/\/?$/, '/');
const label = args.label || 'sendgrid-node';

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

// client returns a Client with key that talks to partnerd. The order matters (notes §8):
// setApiKey resets baseUrl to SendGrid's host, so the base URL is set after the key.
function client(key) {
  const c = new Client();
  c.setApiKey(key);
  c.setDefaultRequest('baseUrl', base);
  return c;
}

// call makes a request and returns {status, body, headers} for 2xx and ≥400 alike.
async function call(c, method, url, body) {
  const req = { method, url };
  if (body !== undefined) req.body = body;
  try {
    const [res, resBody] = await c.request(req);
    return { status: res.statusCode, body: resBody, headers: res.headers };
  } catch (err) {
    if (!err.response) throw err;
    return { status: err.code, body: err.response.body, headers: err.response.headers };
  }
}

function firstMessage(r) {
  return r.body && r.body.errors && r.body.errors[0] ? r.body.errors[0].message : JSON.stringify(r.body);
}

async function main() {
  const sg = client(args.key);
  const now = Math.floor(Date.now() / 1000);

  // Batches.
  let r = await call(sg, 'POST', '/v3/mail/batch');
  check('POST /v3/mail/batch → 201 with a batch_id', r.status === 201 && typeof r.body.batch_id === 'string', `${r.status} ${JSON.stringify(r.body)}`);
  const batch = r.body.batch_id;
  check('every answer carries X-RateLimit-Limit/Remaining/Reset', ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'].every((h) => h in r.headers), JSON.stringify(r.headers));
  r = await call(sg, 'GET', `/v3/mail/batch/${batch}`);
  check('GET /v3/mail/batch/{id} → 200', r.status === 200 && r.body.batch_id === batch, `${r.status} ${JSON.stringify(r.body)}`);
  r = await call(sg, 'GET', '/v3/mail/batch/NoSuchBatch0000000000000000000000');
  check('GET an unknown batch → 400 "invalid batch id"', r.status === 400 && firstMessage(r) === 'invalid batch id', `${r.status} ${JSON.stringify(r.body)}`);

  // mail/send through @sendgrid/mail, scheduled an hour ahead into the batch.
  sgMail.setApiKey(args.key);
  sgMail.client.setDefaultRequest('baseUrl', base);
  const subject = `interop ${label} ${now}`;
  try {
    const [res] = await sgMail.send({
      to: 'someone@example.com', from: 'sender@example.com', subject,
      text: 'hello from the interop suite', sendAt: now + 3600, batchId: batch,
    });
    check('@sendgrid/mail send (sendAt, batchId) → 202 with X-Message-Id', res.statusCode === 202 && !!res.headers['x-message-id'], `${res.statusCode} ${JSON.stringify(res.headers)}`);
  } catch (err) {
    check('@sendgrid/mail send (sendAt, batchId) → 202 with X-Message-Id', false, `${err.code} ${JSON.stringify(err.response && err.response.body)}`);
  }
  try {
    await sgMail.send({ to: 'someone@example.com', subject: 'no from', text: 'x' });
    check('mail/send without from → 400', false, 'accepted');
  } catch (err) {
    const body = err.response && err.response.body;
    const fields = body && body.errors ? body.errors.map((e) => e.field) : [];
    check('mail/send without from → 400 naming from', err.code === 400 && fields.some((f) => f && f.startsWith('from')), `${err.code} ${JSON.stringify(body)}`);
  }
  r = await call(sg, 'POST', '/v3/mail/send', {
    personalizations: [{ to: [{ email: 'a@example.com' }] }], from: { email: 'f@example.com' },
    subject: 's', content: [{ type: 'text/plain', value: 'v' }], send_at: now + 80 * 3600,
  });
  check('mail/send more than 72 h ahead → 400 on send_at', r.status === 400 && r.body.errors.some((e) => e.field === 'send_at'), `${r.status} ${JSON.stringify(r.body)}`);

  // Scheduled sends: pause, refuse a second POST, cancel, list, resume.
  r = await call(sg, 'POST', '/v3/user/scheduled_sends', { batch_id: batch, status: 'pause' });
  check('POST scheduled_sends pause → 201 echo', r.status === 201 && r.body.batch_id === batch && r.body.status === 'pause', `${r.status} ${JSON.stringify(r.body)}`);
  r = await call(sg, 'POST', '/v3/user/scheduled_sends', { batch_id: batch, status: 'cancel' });
  check('a second POST for the batch → 400', r.status === 400, `${r.status} ${JSON.stringify(r.body)}`);
  r = await call(sg, 'GET', `/v3/user/scheduled_sends/${batch}`);
  check('GET one scheduled send → an array of one, paused', r.status === 200 && Array.isArray(r.body) && r.body.length === 1 && r.body[0].status === 'pause', `${r.status} ${JSON.stringify(r.body)}`);
  r = await call(sg, 'PATCH', `/v3/user/scheduled_sends/${batch}`, { status: 'cancel' });
  check('PATCH to cancel → 204', r.status === 204, `${r.status} ${JSON.stringify(r.body)}`);
  r = await call(sg, 'GET', '/v3/user/scheduled_sends');
  check('GET the list → a bare array holding the canceled batch', r.status === 200 && Array.isArray(r.body) && r.body.some((b) => b.batch_id === batch && b.status === 'cancel'), `${r.status} ${JSON.stringify(r.body)}`);
  r = await call(sg, 'DELETE', `/v3/user/scheduled_sends/${batch}`);
  check('DELETE → 204', r.status === 204, `${r.status}`);
  r = await call(sg, 'GET', `/v3/user/scheduled_sends/${batch}`);
  check('GET after DELETE → 404', r.status === 404, `${r.status} ${JSON.stringify(r.body)}`);
  r = await call(sg, 'PATCH', `/v3/user/scheduled_sends/${batch}`, { status: 'pause' });
  check('PATCH without a status set → 404', r.status === 404, `${r.status} ${JSON.stringify(r.body)}`);

  // API keys: a narrow key, its 403, its revocation taking effect on the next request.
  r = await call(sg, 'POST', '/v3/api_keys', { name: `narrow ${label}`, scopes: ['mail.batch.read'] });
  check('POST /v3/api_keys → 201 with the secret once', r.status === 201 && /^SG\./.test(r.body.api_key) && r.body.api_key_id, `${r.status} ${JSON.stringify(r.body)}`);
  const narrowKey = r.body.api_key;
  const narrowID = r.body.api_key_id;
  r = await call(sg, 'GET', '/v3/api_keys');
  check('GET /v3/api_keys lists it without secrets', r.status === 200 && r.body.result.some((k) => k.api_key_id === narrowID) && !JSON.stringify(r.body).includes(narrowKey), `${r.status} ${JSON.stringify(r.body)}`);
  const narrow = client(narrowKey);
  r = await call(narrow, 'GET', `/v3/mail/batch/${batch}`);
  check('the narrow key reads a batch (mail.batch.read)', r.status === 200, `${r.status} ${JSON.stringify(r.body)}`);
  r = await call(narrow, 'POST', '/v3/mail/batch');
  check('the narrow key cannot create one → 403 "access forbidden"', r.status === 403 && firstMessage(r) === 'access forbidden', `${r.status} ${JSON.stringify(r.body)}`);
  r = await call(sg, 'DELETE', `/v3/api_keys/${narrowID}`);
  check('DELETE the narrow key → 204', r.status === 204, `${r.status}`);
  r = await call(narrow, 'GET', `/v3/mail/batch/${batch}`);
  check('the revoked key fails on its next request → 401', r.status === 401 && firstMessage(r) === 'The provided authorization grant is invalid, expired, or revoked', `${r.status} ${JSON.stringify(r.body)}`);

  // Legacy campaigns and Single Sends, to the list the runner made with `partnerd list create`.
  r = await call(sg, 'GET', '/v3/contactdb/lists');
  const legacyList = r.status === 200 && r.body.lists.find((l) => l.name === 'interop');
  check('GET /v3/contactdb/lists shows the CLI-made list', !!legacyList, `${r.status} ${JSON.stringify(r.body)}`);
  r = await call(sg, 'GET', '/v3/marketing/lists');
  const mcList = r.status === 200 && r.body.result.find((l) => l.name === 'interop');
  check('GET /v3/marketing/lists shows it with a UUID', !!mcList && /^[0-9a-f-]{36}$/.test(mcList.id), `${r.status} ${JSON.stringify(r.body)}`);
  if (legacyList && mcList) {
    r = await call(sg, 'POST', '/v3/campaigns', {
      title: `interop ${label}`, subject: 'campaign subject', list_ids: [legacyList.id],
      html_content: '<p>hi [unsubscribe]</p>', plain_content: 'hi [unsubscribe]',
    });
    check('POST /v3/campaigns → 201 Draft', r.status === 201 && r.body.status === 'Draft', `${r.status} ${JSON.stringify(r.body)}`);
    const cid = r.body.id;
    r = await call(sg, 'POST', `/v3/campaigns/${cid}/schedules`, { send_at: now + 7200 });
    check('POST …/schedules → 201 Scheduled', r.status === 201 && r.body.status === 'Scheduled', `${r.status} ${JSON.stringify(r.body)}`);
    r = await call(sg, 'PATCH', `/v3/campaigns/${cid}`, { title: 'changed' });
    check('PATCH a scheduled campaign → 403', r.status === 403, `${r.status} ${JSON.stringify(r.body)}`);
    r = await call(sg, 'GET', `/v3/campaigns/${cid}/schedules`);
    check('GET …/schedules → its send_at', r.status === 200 && r.body.send_at === now + 7200, `${r.status} ${JSON.stringify(r.body)}`);
    r = await call(sg, 'DELETE', `/v3/campaigns/${cid}/schedules`);
    check('DELETE …/schedules → 204, back to Draft', r.status === 204, `${r.status} ${JSON.stringify(r.body)}`);
    r = await call(sg, 'DELETE', `/v3/campaigns/${cid}`);
    check('DELETE /v3/campaigns/{id} → 204', r.status === 204, `${r.status} ${JSON.stringify(r.body)}`);
    r = await call(sg, 'GET', `/v3/campaigns/${cid}`);
    check('GET a deleted campaign → 404', r.status === 404, `${r.status} ${JSON.stringify(r.body)}`);

    r = await call(sg, 'POST', '/v3/marketing/singlesends', {
      name: `interop ${label}`, send_to: { list_ids: [mcList.id] },
      email_config: { subject: 'single send', html_content: '<p>hi</p>', plain_content: 'hi' },
    });
    check('POST /v3/marketing/singlesends → 201 draft', r.status === 201 && r.body.status === 'draft', `${r.status} ${JSON.stringify(r.body)}`);
    const sid = r.body.id;
    const at = new Date((now + 7200) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    r = await call(sg, 'PUT', `/v3/marketing/singlesends/${sid}/schedule`, { send_at: at });
    check('PUT …/schedule → 201 scheduled', r.status === 201 && r.body.status === 'scheduled', `${r.status} ${JSON.stringify(r.body)}`);
    r = await call(sg, 'DELETE', `/v3/marketing/singlesends/${sid}/schedule`);
    check('DELETE …/schedule → 200 {send_at, status: draft}', r.status === 200 && r.body.status === 'draft' && 'send_at' in r.body, `${r.status} ${JSON.stringify(r.body)}`);
    r = await call(sg, 'DELETE', `/v3/marketing/singlesends/${sid}`);
    check('DELETE the Single Send → 204', r.status === 204, `${r.status} ${JSON.stringify(r.body)}`);
  }

  // Conventions.
  const anon = new Client();
  anon.setDefaultRequest('baseUrl', base);
  r = await call(anon, 'GET', '/v3/user/scheduled_sends');
  check('no key → 401 "authorization required"', r.status === 401 && firstMessage(r) === 'authorization required', `${r.status} ${JSON.stringify(r.body)}`);
  r = await call(sg, 'GET', '/v3/no/such/endpoint');
  check('an unknown path → 404 JSON', r.status === 404 && r.body && Array.isArray(r.body.errors), `${r.status} ${JSON.stringify(r.body)}`);
  r = await call(sg, 'POST', '/v3/user/scheduled_sends', { batch_id: 42, status: 'pause' });
  check('a wrong type → 400 JSON', r.status === 400 && r.body && Array.isArray(r.body.errors), `${r.status} ${JSON.stringify(r.body)}`);
}

main()
  .catch((err) => check('the scenario runs to its end', false, err && err.stack ? err.stack : String(err)))
  .finally(() => {
    console.log(`RESULT ${label}: ${passed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
  });
