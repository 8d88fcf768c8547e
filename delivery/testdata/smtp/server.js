// A real SMTP server for partnerd's delivery tests, built on the npm
// package smtp-server: it accepts every message and appends it, as one JSON
// line {from, to, data, user, secure}, to the file named by the first
// argument. It listens on 127.0.0.1 on a free port and prints
// "listening <port>" once it is ready.
//
//   node server.js OUT.jsonl [USER PASSWORD]
//
// With USER and PASSWORD, clients must authenticate (AUTH PLAIN or LOGIN)
// and may use STARTTLS (smtp-server's built-in self-signed certificate).
'use strict';
const fs = require('fs');
const { SMTPServer } = require('smtp-server');

const [out, user, password] = process.argv.slice(2);
if (!out) {
  console.error('usage: node server.js OUT.jsonl [USER PASSWORD]');
  process.exit(2);
}

const server = new SMTPServer({
  authOptional: !user,
  authMethods: ['PLAIN', 'LOGIN'],
  // Auth is only offered over TLS unless this is set; tests exercise
  // both, so plain-text auth is allowed on this loopback-only server.
  allowInsecureAuth: true,
  disabledCommands: user ? [] : ['AUTH'],
  logger: false,
  onAuth(auth, session, cb) {
    if (auth.username === user && auth.password === password) {
      return cb(null, { user: auth.username });
    }
    return cb(new Error('Invalid username or password'));
  },
  onData(stream, session, cb) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const rec = {
        from: session.envelope.mailFrom && session.envelope.mailFrom.address,
        to: session.envelope.rcptTo.map((r) => r.address),
        user: session.user || '',
        secure: !!session.secure,
        data: Buffer.concat(chunks).toString('utf8'),
      };
      fs.appendFileSync(out, JSON.stringify(rec) + '\n');
      cb();
    });
  },
});

server.on('error', (err) => console.error('smtp-server:', err.message));
server.listen(0, '127.0.0.1', () => {
  console.log('listening ' + server.server.address().port);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
