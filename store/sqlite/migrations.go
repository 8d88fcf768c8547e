package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// ErrSchemaTooNew is returned by Open for a database migrated by a newer
// partnerd: this binary would not know what the newer columns mean, so it
// must not write to it.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this partnerd")

// A migration moves the schema from version-1 to version.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations is the schema's history, oldest first. Append only: a
// migration that has shipped is never edited, since databases in the field
// have already applied it.
var migrations = []migration{
	{1, "accounts, sends, nonces, request log, cursors", `
CREATE TABLE accounts (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	username        TEXT    NOT NULL UNIQUE,
	client_id       INTEGER NOT NULL DEFAULT 0,
	password_hash   TEXT    NOT NULL DEFAULT '',
	password_sealed BLOB,
	disabled        INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER,
	updated_at      INTEGER
) STRICT;

-- AUTOINCREMENT so that an ID is never reused after a delete: clients keep
-- send IDs, and a reused one would point them at someone else's send.
CREATE TABLE sends (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id        INTEGER NOT NULL REFERENCES accounts (id),
	object_id         TEXT    NOT NULL,
	customer_key      TEXT    NOT NULL DEFAULT '',
	email_id          INTEGER NOT NULL DEFAULT 0,
	email_name        TEXT    NOT NULL DEFAULT '',
	subject           TEXT    NOT NULL DEFAULT '',
	from_name         TEXT    NOT NULL DEFAULT '',
	from_address      TEXT    NOT NULL DEFAULT '',
	list_ids          TEXT    NOT NULL DEFAULT '[]', -- JSON array of integers
	send_date         INTEGER,
	status            TEXT    NOT NULL,
	sent_date         INTEGER,                       -- NULL until sent
	number_sent       INTEGER NOT NULL DEFAULT 0,
	status_changed_at INTEGER,
	created_date      INTEGER,
	modified_date     INTEGER
) STRICT;

-- Every Tx method is scoped to an account, so every lookup index leads
-- with account_id.
CREATE INDEX sends_account_id ON sends (account_id, id);
CREATE INDEX sends_account_object_id ON sends (account_id, object_id);
-- Two indexes on (account_id, customer_key): the partial one enforces
-- uniqueness of non-empty keys, but SQLite only plans with a partial index
-- when the query repeats its WHERE clause, which "customer_key = ?" does
-- not; the plain one serves lookups and filters.
CREATE INDEX sends_account_customer_key ON sends (account_id, customer_key);
CREATE UNIQUE INDEX sends_account_customer_key_unique ON sends (account_id, customer_key)
	WHERE customer_key <> '';
-- For the dispatcher: due sends across all accounts.
CREATE INDEX sends_status_send_date ON sends (status, send_date);

CREATE TABLE nonces (
	username TEXT    NOT NULL,
	nonce    TEXT    NOT NULL,
	expires  INTEGER NOT NULL,
	PRIMARY KEY (username, nonce)
) STRICT, WITHOUT ROWID;
CREATE INDEX nonces_expires ON nonces (expires);

-- account_id is 0 for unauthenticated requests, so it has no foreign key.
CREATE TABLE request_log (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	request_id  TEXT    NOT NULL UNIQUE,
	account_id  INTEGER NOT NULL DEFAULT 0,
	username    TEXT    NOT NULL DEFAULT '',
	operation   TEXT    NOT NULL DEFAULT '',
	status      TEXT    NOT NULL DEFAULT '',
	http_status INTEGER NOT NULL DEFAULT 0,
	detail      TEXT    NOT NULL DEFAULT '',
	remote      TEXT    NOT NULL DEFAULT '',
	request     TEXT    NOT NULL DEFAULT '',
	response    TEXT    NOT NULL DEFAULT '',
	received_at INTEGER,
	duration_ns INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX request_log_received_at ON request_log (received_at);

CREATE TABLE cursors (
	request_id TEXT    PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts (id),
	query      BLOB,
	after_id   INTEGER NOT NULL,
	expires    INTEGER NOT NULL
) STRICT;
CREATE INDEX cursors_expires ON cursors (expires);
`},
	{2, "dispatch: claims, discards, send content, outbox, operator actions, email send definitions", `
-- A dispatcher claims a due send by moving it to Sending under a lease;
-- a send still Sending when its lease has run out was left by a dispatcher
-- that died and is claimed again.
ALTER TABLE sends ADD COLUMN claim_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE sends ADD COLUMN lease_until INTEGER;
ALTER TABLE sends ADD COLUMN dispatch_attempts INTEGER NOT NULL DEFAULT 0;
-- Set when a Canceled send reaches its SendDate (or an operator flushes
-- it): it stays Canceled but is out of the queue for good.
ALTER TABLE sends ADD COLUMN discarded_at INTEGER;
-- The dispatcher looks for Canceled sends not yet discarded on every pass;
-- without this they would be found by scanning every Canceled send ever.
CREATE INDEX sends_canceled_pending ON sends (send_date)
	WHERE status = 'Canceled' AND discarded_at IS NULL;

-- What a send delivers as real mail (JSON: subject, bodies, recipients),
-- apart from sends so that listing sends never reads bodies.
CREATE TABLE send_contents (
	send_id INTEGER PRIMARY KEY REFERENCES sends (id),
	content TEXT    NOT NULL
) STRICT;

-- One row per delivered send. UNIQUE (send_id) is the last guard of
-- exactly-once delivery: whatever a crash or a second dispatcher does, a
-- send is recorded as delivered at most once.
CREATE TABLE outbox (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	send_id      INTEGER NOT NULL UNIQUE REFERENCES sends (id),
	account_id   INTEGER NOT NULL REFERENCES accounts (id),
	object_id    TEXT    NOT NULL DEFAULT '',
	subject      TEXT    NOT NULL DEFAULT '',
	from_name    TEXT    NOT NULL DEFAULT '',
	from_address TEXT    NOT NULL DEFAULT '',
	recipients   TEXT    NOT NULL DEFAULT '[]', -- JSON array of addresses
	html_body    TEXT    NOT NULL DEFAULT '',
	text_body    TEXT    NOT NULL DEFAULT '',
	number_sent  INTEGER NOT NULL DEFAULT 0,
	transport    TEXT    NOT NULL DEFAULT '',
	message_id   TEXT    NOT NULL DEFAULT '',
	attempt      INTEGER NOT NULL DEFAULT 0,
	delivered_at INTEGER
) STRICT;
CREATE INDEX outbox_account ON outbox (account_id, id);

CREATE TABLE operator_actions (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	action     TEXT    NOT NULL,
	account_id INTEGER NOT NULL DEFAULT 0,
	actor      TEXT    NOT NULL DEFAULT '',
	detail     TEXT    NOT NULL DEFAULT '',
	count      INTEGER NOT NULL DEFAULT 0,
	at         INTEGER
) STRICT;

CREATE TABLE email_send_definitions (
	id                  INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id          INTEGER NOT NULL REFERENCES accounts (id),
	object_id           TEXT    NOT NULL,
	customer_key        TEXT    NOT NULL DEFAULT '',
	name                TEXT    NOT NULL DEFAULT '',
	description         TEXT    NOT NULL DEFAULT '',
	email_id            INTEGER NOT NULL DEFAULT 0,
	email_subject       TEXT    NOT NULL DEFAULT '',
	from_name           TEXT    NOT NULL DEFAULT '',
	from_address        TEXT    NOT NULL DEFAULT '',
	list_ids            TEXT    NOT NULL DEFAULT '[]',
	send_classification TEXT    NOT NULL DEFAULT '',
	content             TEXT    NOT NULL DEFAULT '{}',
	created_date        INTEGER,
	modified_date       INTEGER
) STRICT;
CREATE INDEX esd_account_id ON email_send_definitions (account_id, id);
CREATE INDEX esd_account_object_id ON email_send_definitions (account_id, object_id);
CREATE UNIQUE INDEX esd_account_customer_key ON email_send_definitions (account_id, customer_key)
	WHERE customer_key <> '';
`},
	{3, "nonces as an append-only log", `
-- The replay check is answered from memory (see nonceSet); the table only
-- has to survive restarts. Rows appended in rowid order dirty the table's
-- last page, where a (username, nonce) key put each insert on a random one.
CREATE TABLE nonce_log (
	id       INTEGER PRIMARY KEY,
	username TEXT    NOT NULL,
	nonce    TEXT    NOT NULL,
	expires  INTEGER NOT NULL
) STRICT;
CREATE INDEX nonce_log_expires ON nonce_log (expires);
INSERT INTO nonce_log (username, nonce, expires) SELECT username, nonce, expires FROM nonces ORDER BY expires;
DROP TABLE nonces;
`},
	{4, "request log bodies compressed", `
-- New rows leave request and response empty and keep the envelopes here,
-- packed (see store/internal/sqlcodec/body.go); rows written before stay as they were.
ALTER TABLE request_log ADD COLUMN request_packed BLOB;
ALTER TABLE request_log ADD COLUMN response_packed BLOB;
`},
	{5, "indexes for counting held sends", `
-- CountHeldSends runs on every cancel and pause under the held limit: on
-- the (account_id, …) indexes it read every send of the account, 10 million
-- rows for a large one. These hold only the held sends, a few hundred per
-- account at most under the limit.
CREATE INDEX sends_paused ON sends (account_id) WHERE status = 'Paused';
CREATE INDEX sends_canceled_held ON sends (account_id, send_date)
	WHERE status = 'Canceled' AND discarded_at IS NULL;
`},
	{6, "one send per ObjectID", `
-- ObjectIDs are GUIDs, which clients spell in upper or lower case, in
-- braces or as a URN: one spelling (lower case, dashed) per GUID, so that
-- uniqueness and lookups cannot be dodged by the case of a letter.
UPDATE sends SET object_id = ` + canonicalObjectIDSQL + `
	WHERE object_id <> ` + canonicalObjectIDSQL + `;
-- Until now a Create retried after a timeout could make a second send with
-- the same ObjectID. Those rows are kept (a send may still be due), but the
-- later copies of a key are numbered 1, 2, … here; every new send has 0,
-- so the unique index below refuses any further send with a key already
-- taken, while lookups by ObjectID (a prefix of the index) still find every
-- copy, and a cancel by that key reaches them all.
ALTER TABLE sends ADD COLUMN key_dup INTEGER NOT NULL DEFAULT 0;
UPDATE sends SET key_dup = (
	SELECT count(*) FROM sends o
	WHERE o.account_id = sends.account_id AND o.object_id = sends.object_id AND o.id < sends.id)
WHERE id IN (
	SELECT s.id FROM sends s JOIN (
		SELECT account_id, object_id, min(id) AS first FROM sends
		GROUP BY account_id, object_id HAVING count(*) > 1) d
	ON s.account_id = d.account_id AND s.object_id = d.object_id AND s.id > d.first);
-- Replaces the plain index of version 1: same leading columns for lookups,
-- no second copy of every ObjectID on disk.
DROP INDEX sends_account_object_id;
CREATE UNIQUE INDEX sends_account_object_id ON sends (account_id, object_id, key_dup);
`},
	{7, "request log sizes", `
-- The log is bounded in bytes (PruneRequestBytes): each row says what it
-- takes, and the index lets the pruner add that up, newest first, without
-- reading the rows' bodies (stored_bytes comes after them in the row, so
-- reading it from the table would walk every body's overflow pages).
-- request_size/response_size are the bodies' lengths as sent, and the
-- notes say why a body is cut or left out.
ALTER TABLE request_log ADD COLUMN request_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE request_log ADD COLUMN response_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE request_log ADD COLUMN request_note TEXT NOT NULL DEFAULT '';
ALTER TABLE request_log ADD COLUMN response_note TEXT NOT NULL DEFAULT '';
ALTER TABLE request_log ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE request_log SET stored_bytes = 96 + length(CAST(request_id AS BLOB)) + length(CAST(username AS BLOB))
	+ length(CAST(operation AS BLOB)) + length(CAST(status AS BLOB)) + length(CAST(detail AS BLOB))
	+ length(CAST(remote AS BLOB)) + length(CAST(request AS BLOB)) + length(CAST(response AS BLOB))
	+ coalesce(length(request_packed), 0) + coalesce(length(response_packed), 0);
CREATE INDEX request_log_stored_bytes ON request_log (id, stored_bytes);
`},
	{8, "request log faces", `
-- The server serves several faces (SOAP, admin, SendGrid …) through one
-- middleware: each exchange says which face served it and the HTTP method
-- and path it came in on. Every exchange logged before was a SOAP POST to
-- the endpoint.
ALTER TABLE request_log ADD COLUMN face TEXT NOT NULL DEFAULT 'soap';
ALTER TABLE request_log ADD COLUMN method TEXT NOT NULL DEFAULT 'POST';
ALTER TABLE request_log ADD COLUMN path TEXT NOT NULL DEFAULT '/Service.asmx';
`},
	{9, "batches: every send in one", `
-- A batch (SendGrid's batch_id) groups sends to pause or cancel them
-- together. batch_id is random and unique across accounts; every lookup is
-- still scoped to the account. used is 1 once a send is in the batch: sends
-- are never deleted, so an empty held batch (counted by the held limit
-- apart from its sends) is found on its partial index.
CREATE TABLE batches (
	id              INTEGER PRIMARY KEY,
	account_id      INTEGER NOT NULL REFERENCES accounts (id),
	batch_id        TEXT    NOT NULL UNIQUE,
	created         INTEGER,
	hold            TEXT    NOT NULL DEFAULT '',
	hold_changed_at INTEGER,
	used            INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX batches_held ON batches (account_id, hold_changed_at) WHERE hold <> '';
CREATE INDEX batches_held_empty ON batches (account_id) WHERE hold <> '' AND used = 0;
-- Every existing send gets a batch of its own (32 hex digits, random), held
-- as the send is: a Paused send's batch is paused, a Canceled one's
-- canceled, as a SOAP pause or cancel of the send now marks it.
ALTER TABLE sends ADD COLUMN batch_id TEXT NOT NULL DEFAULT '';
UPDATE sends SET batch_id = hex(randomblob(16));
INSERT INTO batches (account_id, batch_id, created, hold, hold_changed_at, used)
	SELECT account_id, batch_id, created_date,
		CASE status WHEN 'Paused' THEN 'pause' WHEN 'Canceled' THEN 'cancel' ELSE '' END,
		CASE WHEN status IN ('Paused', 'Canceled') THEN status_changed_at END, 1
	FROM sends ORDER BY id;
CREATE INDEX sends_batch ON sends (account_id, batch_id);
`},
	{10, "API keys", `
-- The SendGrid face's credentials. id is the <id> of SG.<id>.<secret>,
-- unique across accounts, as Verify finds a key by it alone. Only a hash
-- of the secret is kept. A revoked key keeps its row (revoked_at set) so
-- that its id is never issued again. scopes is a JSON array of strings.
CREATE TABLE api_keys (
	id          TEXT    PRIMARY KEY,
	account_id  INTEGER NOT NULL REFERENCES accounts (id),
	name        TEXT    NOT NULL,
	scopes      TEXT    NOT NULL DEFAULT '[]',
	secret_hash BLOB    NOT NULL,
	created_at  INTEGER,
	revoked_at  INTEGER
) STRICT, WITHOUT ROWID;
-- Listing and counting an account's live keys (the 100-key limit).
CREATE INDEX api_keys_account_live ON api_keys (account_id, created_at) WHERE revoked_at IS NULL;
`},
	{11, "marketing: recipient lists, legacy campaigns, Single Sends", `
-- Lists a campaign (by id) or a Single Send (by uuid) is sent to. The
-- recipients are read and written whole (schedule, the CLI), never
-- queried, so they are one JSON array; the count comes before it in the
-- row so that listing the lists does not walk the arrays' pages.
CREATE TABLE marketing_lists (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id      INTEGER NOT NULL REFERENCES accounts (id),
	uuid            TEXT    NOT NULL,
	name            TEXT    NOT NULL,
	created         INTEGER,
	recipient_count INTEGER NOT NULL DEFAULT 0,
	recipients      TEXT    NOT NULL DEFAULT '[]'
) STRICT;
CREATE UNIQUE INDEX marketing_lists_name ON marketing_lists (account_id, name);
CREATE UNIQUE INDEX marketing_lists_uuid ON marketing_lists (account_id, uuid);

-- Campaigns and Single Sends: the state and schedule are columns (they are
-- compared and set), the editable fields one JSON object (only ever read
-- and written whole). version is the compare-and-set counter.
-- AUTOINCREMENT: a deleted campaign's id is never given to another.
CREATE TABLE campaigns (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id     INTEGER NOT NULL REFERENCES accounts (id),
	state          TEXT    NOT NULL,
	send_at        INTEGER,
	schedule_token TEXT    NOT NULL DEFAULT '',
	version        INTEGER NOT NULL DEFAULT 1,
	created        INTEGER,
	updated        INTEGER,
	fields         TEXT    NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX campaigns_account ON campaigns (account_id, id);

CREATE TABLE single_sends (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT,
	id             TEXT    NOT NULL,
	account_id     INTEGER NOT NULL REFERENCES accounts (id),
	state          TEXT    NOT NULL,
	send_at        INTEGER,
	schedule_token TEXT    NOT NULL DEFAULT '',
	version        INTEGER NOT NULL DEFAULT 1,
	created        INTEGER,
	updated        INTEGER,
	fields         TEXT    NOT NULL DEFAULT '{}'
) STRICT;
CREATE UNIQUE INDEX single_sends_id ON single_sends (account_id, id);
CREATE INDEX single_sends_account ON single_sends (account_id, seq);
`},
	{12, "token clients and issued tokens (OAuth2 token endpoints)", `
-- An installed package's credentials: only a SHA-256 hash of the secret
-- is kept (it is 256 random bits: no dictionary to slow down). A revoked
-- client keeps its row so that its id is never issued again. mid is the
-- account id its tokens are for; scopes a JSON array of strings.
CREATE TABLE token_clients (
	id          TEXT    PRIMARY KEY,
	account_id  INTEGER NOT NULL REFERENCES accounts (id),
	mid         INTEGER NOT NULL,
	scopes      TEXT    NOT NULL DEFAULT '[]',
	secret_hash BLOB    NOT NULL,
	created_at  INTEGER,
	revoked_at  INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX token_clients_account_live ON token_clients (account_id, created_at) WHERE revoked_at IS NULL;

-- Issued tokens by the SHA-256 of their value: every instance on the
-- store checks them in one read with their client and account.
CREATE TABLE issued_tokens (
	hash        BLOB    PRIMARY KEY,
	kind        TEXT    NOT NULL,
	client_id   TEXT    NOT NULL REFERENCES token_clients (id),
	account_id  INTEGER NOT NULL,
	scopes      TEXT    NOT NULL DEFAULT '[]',
	created_at  INTEGER,
	expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- Forgetting a client's expired tokens when it is issued a new one.
CREATE INDEX issued_tokens_client_expiry ON issued_tokens (client_id, expires_at);
`},
	{13, "users: several logins per account", `
-- An account (the tenant) has several SOAP users, each with its own
-- password, disabled flag and life: rotating or disabling one leaves the
-- others working. A UsernameToken carries no account, so a username is
-- unique across the server. AUTOINCREMENT: the password cache is keyed by
-- user id, which a deleted user's successor must not inherit.
CREATE TABLE users (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id      INTEGER NOT NULL REFERENCES accounts (id),
	username        TEXT    NOT NULL UNIQUE,
	password_hash   TEXT    NOT NULL DEFAULT '',
	password_sealed BLOB,
	disabled        INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER,
	updated_at      INTEGER
) STRICT;
CREATE INDEX users_account ON users (account_id, id);
-- Every account was one login: it becomes an account with one user of the
-- same name and password, so every client logs in as before and reaches
-- the same sends. The account keeps its disabled flag (which stops all of
-- its users); its password moves to the user and is kept nowhere else.
INSERT INTO users (account_id, username, password_hash, password_sealed, disabled, created_at, updated_at)
	SELECT id, username, password_hash, password_sealed, 0, created_at, updated_at FROM accounts ORDER BY id;
UPDATE accounts SET password_hash = '', password_sealed = NULL;
-- Which credential made each request ('user' and its username, 'apikey'
-- and its id): the operator looks for the runaway one by it. Every SOAP
-- exchange logged before was made by the user of its account's name.
ALTER TABLE request_log ADD COLUMN credential_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE request_log ADD COLUMN credential TEXT NOT NULL DEFAULT '';
UPDATE request_log SET credential_kind = 'user', credential = username WHERE face = 'soap' AND username <> '';
-- Operator actions on a credential (user passwd, disable …) name it.
ALTER TABLE operator_actions ADD COLUMN credential TEXT NOT NULL DEFAULT '';
-- No index on them: the log is written on every request, and the two
-- readers (partnerd requests --credential, partnerd account show) are an
-- operator's, scanning a log the retention bounds (by received_at for the
-- recent counts, which is indexed).
`},
	{14, "console sessions", `
-- Console sessions, by the SHA-256 of the cookie's ID, so that any server
-- sharing the store serves them and a reader of the store cannot use one.
CREATE TABLE console_sessions (
	id_hash        BLOB    PRIMARY KEY,
	account_id     INTEGER NOT NULL DEFAULT 0,
	actor          TEXT    NOT NULL,
	csrf           TEXT    NOT NULL,
	password_stamp TEXT    NOT NULL DEFAULT '',
	created        INTEGER,
	expires        INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX console_sessions_account ON console_sessions (account_id);
CREATE INDEX console_sessions_expires ON console_sessions (expires);
`},
	{15, "sends: the path that created each", `
-- Which path created a send (store.Origin: soap, definition, rest,
-- campaign, singlesend) and, for a campaign's or Single Send's, its ID.
-- Adding a column with a constant default rewrites no row.
ALTER TABLE sends ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE sends ADD COLUMN origin_id TEXT NOT NULL DEFAULT '';
-- What the schema can tell of earlier sends: those of a campaign's or
-- Single Send's current schedule carry its token in their CustomerKeys
-- (token-0, token-1 …, a range of the (account_id, customer_key) index).
-- Sends of an earlier, unscheduled run, or of a deleted campaign, and
-- every other send, stay '' (unknown): a SOAP client may choose any key,
-- so a key's shape alone proves nothing.
UPDATE sends SET origin = 'campaign', origin_id = CAST(c.id AS TEXT)
FROM campaigns c
WHERE c.schedule_token <> '' AND sends.account_id = c.account_id
	AND sends.customer_key BETWEEN c.schedule_token || '-0' AND c.schedule_token || '-:';
UPDATE sends SET origin = 'singlesend', origin_id = ss.id
FROM single_sends ss
WHERE ss.schedule_token <> '' AND sends.account_id = ss.account_id
	AND sends.customer_key BETWEEN ss.schedule_token || '-0' AND ss.schedule_token || '-:';
-- The console's list filtered by origin pages by ID within it.
CREATE INDEX sends_account_origin ON sends (account_id, origin, id);
`},
	{16, "request log bodies packed", `
-- Nothing to do here: this is store/postgres's migration 16, which gives
-- it the packed bodies this store has kept since migration 4. The number
-- is taken so that one version means one schema in both stores.
SELECT 1;
`},
}

// latestVersion is the schema version this binary writes.
func latestVersion() int { return migrations[len(migrations)-1].version }

// migrate applies the migrations the database lacks, each in its own
// transaction so that a failure leaves the database at the last good
// version rather than half-way through one.
func (db *DB) migrate(ctx context.Context) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
) STRICT`)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	current, err := db.schemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > latestVersion() {
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d; upgrade partnerd",
			ErrSchemaTooNew, current, latestVersion())
	}

	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		err := db.update(ctx, func(tx *sql.Tx) error {
			// Re-checked under the write lock: another process sharing
			// the file may have applied it since we looked.
			var n int
			if err := tx.QueryRowContext(ctx,
				`SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate to version %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// schemaVersion is the highest migration applied, 0 for a new database.
func (db *DB) schemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.write.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// canonicalObjectIDSQL is, in SQL, the spelling of object_id that
// uuid.UUID.String gives for every form uuid.Parse accepts (dashed, in
// braces, as a urn:uuid: URN, or 32 hex digits), in lower case; any other
// value is only lower-cased (imports may hold other strings).
var canonicalObjectIDSQL = `(CASE
	WHEN length(object_id) = 45 AND lower(substr(object_id, 1, 9)) = 'urn:uuid:' AND substr(object_id, 10) GLOB '` + dashedGUIDGlob + `'
		THEN lower(substr(object_id, 10))
	WHEN length(object_id) = 38 AND substr(object_id, 1, 1) = '{' AND substr(object_id, 38, 1) = '}' AND substr(object_id, 2, 36) GLOB '` + dashedGUIDGlob + `'
		THEN lower(substr(object_id, 2, 36))
	WHEN length(object_id) = 32 AND object_id GLOB '` + hexGlob(32) + `' THEN lower(
		substr(object_id, 1, 8) || '-' || substr(object_id, 9, 4) || '-' || substr(object_id, 13, 4) || '-' ||
		substr(object_id, 17, 4) || '-' || substr(object_id, 21, 12))
	ELSE lower(object_id) END)`

// dashedGUIDGlob matches a GUID's 36-character dashed form.
var dashedGUIDGlob = hexGlob(8) + "-" + hexGlob(4) + "-" + hexGlob(4) + "-" + hexGlob(4) + "-" + hexGlob(12)

func hexGlob(n int) string { return strings.Repeat("[0-9a-fA-F]", n) }
