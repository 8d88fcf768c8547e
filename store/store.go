// Package store defines partnerd's durable state — accounts, scheduled sends
// (with their content, their batches and the dispatcher's queue),
// EmailSendDefinitions, the outbox, operator actions, WS-Security nonces,
// Retrieve cursors and the request log — as a small interface, independent
// of any database. Implementations live in sub-packages (store/sqlite,
// store/postgres) and all pass the one
// conformance suite in store/storetest; the isolation they must give is
// written on Store. A store is opened by name (Open: a path, sqlite:PATH,
// postgres://…), by the backends a binary links in. Tests open
// theirs through internal/testrig, which picks the backend from
// PARTNERD_TEST_STORE.
package store

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"
)

// Errors callers test with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	ErrReplay   = errors.New("store: nonce already used")
	// ErrConflict: a conditional write found the row changed since it was
	// read (UpdateSendFrom).
	ErrConflict = errors.New("store: changed since it was read")
	// ErrKeyLimit: CreateAPIKey found the account already holding as many
	// live API keys as it may.
	ErrKeyLimit = errors.New("store: too many API keys")
)

// MaxFilterDepth is how deeply a Filter's Ands and Ors may nest. FindSends
// and FindEmailSendDefinitions refuse a deeper one; callers that build filters from client input check
// it first, to answer with a client error rather than a store failure.
const MaxFilterDepth = 64

// MaxLikePattern is the longest Like pattern, in bytes, FindSends and
// FindEmailSendDefinitions take (SQLite's own limit on LIKE patterns).
const MaxLikePattern = 50_000

// CanonicalObjectID is the one spelling a store keeps of an ObjectID: a
// GUID in any form uuid.Parse reads (upper case, braces, urn:uuid:, no
// dashes) as lower-case dashed text, anything else with its ASCII letters
// lowered. Stores apply it on insert and on every lookup by ObjectID, so
// that two spellings of one GUID are one key.
func CanonicalObjectID(s string) string {
	if u, err := uuid.Parse(s); err == nil {
		return u.String()
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// FilterDepth is the nesting depth of f: 0 for nil or a single Cond.
func FilterDepth(f Filter) int {
	switch f := f.(type) {
	case *And:
		if f != nil {
			return 1 + max(FilterDepth(f.Left), FilterDepth(f.Right))
		}
	case *Or:
		if f != nil {
			return 1 + max(FilterDepth(f.Left), FilterDepth(f.Right))
		}
	}
	return 0
}

// Store is the durable state of one partnerd deployment. Every method is safe
// for concurrent use. A write that returns nil has been committed durably.
//
// Isolation. Every backend must give these guarantees, which the rules
// (cancel, pause, resume, the held limit) and the conformance suite rely
// on; they are what SQLite's single writer gives, and what a server
// database must give with its own means:
//
//   - A Tx sees one consistent snapshot of the store plus its own writes:
//     a row it read does not change under it from its own point of view,
//     and it never sees another transaction's uncommitted writes.
//   - An Update is atomic and durable: all of its writes commit, or (fn
//     failed, the commit failed) none of them.
//   - Concurrent Updates, and the Queue's own transactions, may interleave
//     — another may commit between this one's read and its write — but a
//     status change never overwrites a status it did not see: it is
//     compare-and-set (Tx.UpdateSendFrom, and the Queue's transitions
//     from Scheduled, Sending, Paused or Canceled), and fails with
//     ErrConflict (or skips the row) when the status moved. A rule reads
//     a send, decides, and writes with the status it read.
//   - Counts that bound a write are serialized with it: the held limit
//     (Tx.CountHeldBatches or CountHeldSends, then a pause, a cancel or a
//     batch's hold) holds under concurrent holds of one account. SQLite runs every Update alone (one writer, BEGIN
//     IMMEDIATE), so the count and the write are one serial step. A
//     backend with concurrent writers must serialize them per account:
//     lock the account's row (SELECT … FOR UPDATE on accounts) first in
//     any Update that counts, or run such Updates SERIALIZABLE and retry
//     on a serialization failure inside Update, never returning it.
//   - A View sees a committed snapshot; it may be older than a concurrent
//     Update's commit, never a mix of before and after.
type Store interface {
	// Update runs fn in one read-write transaction, committed durably
	// before Update returns nil. If fn returns an error the transaction is
	// rolled back and that error is returned unchanged. A backend that
	// retries serialization failures runs fn again, so whatever fn does
	// outside the Tx must bear repeating.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error

	// Accounts.
	CreateAccount(ctx context.Context, a *Account) error // sets a.ID; ErrExists on a duplicate username
	AccountByUsername(ctx context.Context, username string) (Account, error)
	AccountByID(ctx context.Context, id int64) (Account, error)
	UpdateAccount(ctx context.Context, a Account) error // password, client ID, disabled; by ID; ErrNotFound if absent
	ListAccounts(ctx context.Context) ([]Account, error)

	// Users: an account's SOAP logins (see User). A username names one
	// user across the whole server, since a UsernameToken carries no
	// account.
	//
	// CreateUser stores u and sets u.ID. ErrExists when the username is
	// taken (by any account), ErrNotFound when account u.AccountID is
	// absent.
	CreateUser(ctx context.Context, u *User) error
	// UserByUsername finds the user logging in as username with the
	// identity (ID, Username, ClientID) and Disabled flag of its account,
	// read together: what checking a UsernameToken needs on every request,
	// in one read. The account's own credentials are left out.
	// ErrNotFound if no user has the name.
	UserByUsername(ctx context.Context, username string) (User, Account, error)
	// ListUsers returns account's users by ID (none for an unknown account).
	ListUsers(ctx context.Context, accountID int64) ([]User, error)
	// UpdateUser rewrites the password (hash and sealed), Disabled and
	// UpdatedAt of user u.ID of account u.AccountID; the username and the
	// account never change. ErrNotFound if it is absent or another
	// account's.
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser deletes user id of accountID. ErrNotFound if it is absent
	// or another account's. The account and what it owns are kept.
	DeleteUser(ctx context.Context, accountID, id int64) error

	// API keys (the SendGrid face's credentials). Revoked keys are kept,
	// marked, so that an ID is never reused and a revoked key is told
	// apart from one that never existed in the store (not on the wire).
	//
	// CreateAPIKey stores k (k.ID chosen by the caller, unique across
	// accounts). The count of the account's live keys and the insert are
	// one serial step: ErrKeyLimit when the account already has maxLive
	// live keys (maxLive <= 0: no limit), however many creates race.
	// ErrExists on a duplicate ID.
	CreateAPIKey(ctx context.Context, k APIKey, maxLive int) error
	// APIKeyByID finds a key of any account by its ID, revoked or not
	// (RevokedAt says). ErrNotFound if none has it.
	APIKeyByID(ctx context.Context, id string) (APIKey, error)
	// APIKeyWithAccount is APIKeyByID with the identity (ID, Username,
	// ClientID) and Disabled flag of the account that holds the key, read
	// together: what verifying a key needs on every request, in one read.
	// The account's credentials are left out; the Account is zero (ID 0)
	// when the key's account is gone.
	APIKeyWithAccount(ctx context.Context, id string) (APIKey, Account, error)
	// ListAPIKeys returns account's live keys, oldest first.
	ListAPIKeys(ctx context.Context, accountID int64) ([]APIKey, error)
	// UpdateAPIKey rewrites the name and scopes of account k.AccountID's
	// live key k.ID. ErrNotFound if it is absent, another account's, or
	// revoked.
	UpdateAPIKey(ctx context.Context, k APIKey) error
	// RevokeAPIKey marks account's live key id revoked at at; from then
	// APIKeyByID returns it with RevokedAt set. ErrNotFound if it is
	// absent, another account's, or already revoked.
	RevokeAPIKey(ctx context.Context, accountID int64, id string, at time.Time) error

	// Token clients (installed-package credentials of the OAuth2 token
	// endpoints) and the tokens they were issued. Like API keys, revoked
	// clients are kept, marked, so that an ID is never reused.
	//
	// CreateTokenClient stores c (c.ID chosen by the caller, unique across
	// accounts). ErrExists on a duplicate ID, ErrNotFound when the account
	// does not exist.
	CreateTokenClient(ctx context.Context, c TokenClient) error
	// TokenClientWithAccount finds a client of any account, revoked or not,
	// with the identity (ID, Username, ClientID) and Disabled flag of its
	// account, in one read (a zero Account when the account is gone).
	// ErrNotFound if none has that ID.
	TokenClientWithAccount(ctx context.Context, id string) (TokenClient, Account, error)
	// ListTokenClients returns account's live clients, oldest first.
	ListTokenClients(ctx context.Context, accountID int64) ([]TokenClient, error)
	// RevokeTokenClient marks account's live client id revoked at at: the
	// tokens issued to it fail from then (TokenWithClient returns the
	// client with RevokedAt set). ErrNotFound if it is absent, another
	// account's, or already revoked.
	RevokeTokenClient(ctx context.Context, accountID int64, id string, at time.Time) error
	// InsertToken stores an issued token (by its hash, unique). Expired
	// tokens are kept until Prune forgets them (Retention.ExpiredTokenAge):
	// one still presented must be told apart from an unknown one ("Token
	// Expired", which the SDKs refresh on, not "Login Failed"), however
	// many new tokens its client was issued meanwhile. ErrExists on a duplicate hash, ErrNotFound when the client does not
	// exist.
	InsertToken(ctx context.Context, t IssuedToken, now time.Time) error
	// TokenWithClient finds a token by its hash with its client and the
	// client's account (identity and Disabled only), in one read: what
	// checking a token needs on every request, shared by every process on
	// the store. Expired tokens are returned as they are (the caller
	// tells expired from unknown). ErrNotFound if no token has the hash.
	TokenWithClient(ctx context.Context, hash []byte) (IssuedToken, TokenClient, Account, error)
	// ConsumeToken deletes the token with hash: a refresh token is used
	// once. ErrNotFound if it is absent (used already), so that of two
	// racing refreshes exactly one wins.
	ConsumeToken(ctx context.Context, hash []byte) error

	// UseNonce records a WS-Security nonce until expires. It returns
	// ErrReplay if the same nonce (for the same username) is already
	// recorded and has not expired at now. Like every other method it takes
	// the caller's now (the server's clock, manual or not) rather than
	// reading a clock of its own.
	UseNonce(ctx context.Context, username, nonce string, expires, now time.Time) error

	// Request log.
	LogRequest(ctx context.Context, e RequestLog) error
	// LogRequests stores es in one transaction: all of them, or (on
	// error) none. ErrExists if a RequestID is already logged.
	LogRequests(ctx context.Context, es []RequestLog) error
	RecentRequests(ctx context.Context, n int) ([]RequestLog, error) // newest first
	RequestByID(ctx context.Context, requestID string) (RequestLog, error)
	// SearchRequests returns the exchanges q selects, newest first (in
	// RecentRequests' order), at most q.Limit of them: the whole log is
	// searched, a page at a time (see RequestQuery.After).
	SearchRequests(ctx context.Context, q RequestQuery) ([]RequestLog, error)
	// RequestsByCredential returns the n newest exchanges made with the
	// credential named name (RequestLog.Credential) of kind, or of any
	// kind when kind is "", newest first.
	RequestsByCredential(ctx context.Context, kind, name string, n int) ([]RequestLog, error)
	// CountRequestsByCredential counts account's exchanges received at or
	// after since, per credential (kind, then name); the exchanges of no
	// credential, if any, count under empty ones.
	CountRequestsByCredential(ctx context.Context, accountID int64, since time.Time) ([]CredentialCount, error)
	// PruneRequestBytes forgets the oldest exchanges until those left take
	// at most maxBytes (> 0) as stored (see RequestLogSize), and says how
	// many it removed: the log's bound in bytes, whatever its entries' sizes.
	// Prune applies it too; the server's log writer calls it alone, between
	// rounds, to hold the budget under a burst.
	PruneRequestBytes(ctx context.Context, maxBytes int64) (int64, error)

	// Prune is the store's one housekeeping entry point: it forgets the
	// nonces and Retrieve cursors that expired before now, the issued
	// tokens that expired before now less r.ExpiredTokenAge, and the
	// exchanges the request log is not to keep under r. Each part is
	// pruned whether or not the one before could be; the error joins the
	// parts' errors, and Pruned counts what each removed.
	Prune(ctx context.Context, now time.Time, r Retention) (Pruned, error)

	// CountSendsByStatus counts every account's sends by status, for the
	// metrics scrape.
	CountSendsByStatus(ctx context.Context) (map[SendStatus]int64, error)

	// The dispatcher's queue, the outbox and operator actions.
	Queue

	Close() error
}

// Retention is what Prune lets the request log keep: exchanges received at
// most MaxAge before now (0: any age), the newest MaxEntries (0: any
// number), within MaxBytes as stored (0: any size; see PruneRequestBytes).
// Expired nonces and cursors are always pruned.
type Retention struct {
	MaxAge     time.Duration
	MaxEntries int
	MaxBytes   int64
	// ExpiredTokenAge is how long an issued token (access, legacy or
	// refresh) is kept after it expired (0: forgotten once expired): while
	// it is kept, its holder is told the token expired (SOAP "Token
	// Expired", on which the Node SDKs fetch a new one) instead of the
	// unknown token's "Login Failed".
	ExpiredTokenAge time.Duration
}

// Pruned counts what one Prune removed.
type Pruned struct {
	Nonces   int64
	Cursors  int64
	Requests int64 // by age, count and size together
	Tokens   int64 // issued tokens, expired (see Retention.ExpiredTokenAge)
}

// Backuper is an optional capability of a Store: a consistent copy of the
// whole store, taken while it is in use, written to path (which must not
// exist). A store that has no file of its own to copy (a server database,
// backed up by its own tools) does not implement it; callers find it with
// a type assertion and say so when it is missing.
type Backuper interface {
	Backup(ctx context.Context, path string) error
}

// WriteReadier is an optional capability of a Store: WriteReady reports
// whether the store takes writes now (nil), for the server's readiness
// check — a store that answers reads but fails every write (a full disk)
// is not ready, as every cancel would fail. A store without it is judged
// ready while it answers.
type WriteReadier interface {
	WriteReady(ctx context.Context) error
}

// Tx is one transaction over sends and cursors. Every method is scoped to an
// account: no method ever returns a row of another account.
type Tx interface {
	// SendByKey finds one of account's sends by ID, ObjectID or CustomerKey
	// (the first that is set in key). ErrNotFound if none matches. A store
	// written before ObjectIDs were unique may hold several sends with one
	// ObjectID: SendByKey returns one of them, so whoever acts on a key must
	// find them all (FindSends with an ObjectID equals filter).
	SendByKey(ctx context.Context, accountID int64, key SendKey) (Send, error)
	// InsertSend stores s, setting s.ID (a non-zero s.ID is used as given,
	// for imports and fixtures). s.AccountID, s.ObjectID and the dates are
	// the caller's to set; an empty ObjectID is given a new GUID, and
	// s.ObjectID is left in its canonical spelling. ErrExists on a duplicate ObjectID, or a
	// duplicate non-empty CustomerKey, within the account: a key names at
	// most one send, so that an action by key reaches everything it names.
	// A date that is not zero must lie in years 1 to 9999 (UTC).
	InsertSend(ctx context.Context, s *Send) error
	// UpdateSendFrom rewrites the mutable fields of the send s.ID of
	// s.AccountID (status, dates, counts) on condition that the send is
	// still in status from, the status the caller read it in: ErrConflict
	// when it is not (a dispatcher claimed it since), so that a cancel can
	// never overwrite a claim it did not see. ErrNotFound if absent. Every
	// change a rule makes to a send goes through it.
	UpdateSendFrom(ctx context.Context, s Send, from SendStatus) error
	// FindSends returns account's sends matching q, ordered by ID.
	FindSends(ctx context.Context, accountID int64, q SendQuery) ([]Send, error)
	// CountHeldSends counts account's sends that are Paused, or Canceled
	// with a SendDate after now (still in the queue, pending cancellation).
	// A pause counts then writes in one Update: the store serializes such
	// Updates of one account (see Store), so the limit holds however many
	// pauses race for its last slot.
	CountHeldSends(ctx context.Context, accountID int64, now time.Time) (int, error)

	// Batches (SendGrid's batch_id): every send belongs to one.
	//
	// InsertBatch stores b (b.ID from NewBatchID when empty, set in b).
	// ErrExists on a batch ID already used (by any account).
	InsertBatch(ctx context.Context, b *Batch) error
	// BatchByID finds one of account's batches. ErrNotFound if none (or
	// another account's).
	BatchByID(ctx context.Context, accountID int64, id string) (Batch, error)
	// UpdateBatchHold writes b.Hold and b.HoldChangedAt on condition that
	// the batch's hold is still from (compare-and-set, as UpdateSendFrom):
	// ErrConflict when it moved, ErrNotFound if absent.
	UpdateBatchHold(ctx context.Context, b Batch, from Hold) error
	// SetSoleSendHold sets the hold of account's batch to h (changed at
	// at) when the batch holds exactly one send, that send, and is not held
	// so already; otherwise it changes nothing. A SOAP action on a send
	// alone in its batch is mirrored on the batch this way, in one step,
	// whose outcome no caller waits on (a store may send it with the
	// transaction's next statement).
	SetSoleSendHold(ctx context.Context, accountID int64, batchID string, sendID int64, h Hold, at time.Time) error
	// SendsOfBatch returns the sends of account's batch, by ID, at most
	// limit of them (0: all).
	SendsOfBatch(ctx context.Context, accountID int64, batchID string, limit int) ([]Send, error)
	// CountHeldBatches counts account's batches, other than except, that
	// are held at now: those with a held send (Paused, or Canceled and
	// still waiting for its SendDate, as CountHeldSends), and those with a
	// hold that have no send yet. The held limit counts these; the store
	// serializes it with the write that follows, as CountHeldSends.
	CountHeldBatches(ctx context.Context, accountID int64, except string, now time.Time) (int, error)
	// HeldBatches lists account's batches with a hold, oldest hold first.
	HeldBatches(ctx context.Context, accountID int64) ([]Batch, error)

	// SaveCursor stores the state needed to continue a Retrieve.
	SaveCursor(ctx context.Context, c Cursor) error
	// Cursor loads the cursor saved under requestID for accountID.
	// ErrNotFound if there is none or it expired before now.
	Cursor(ctx context.Context, accountID int64, requestID string, now time.Time) (Cursor, error)

	// SetSendContent stores what send sendID of accountID delivers when
	// it goes out (inline subject, bodies, recipients), replacing any
	// earlier content. ErrNotFound if the send is absent.
	SetSendContent(ctx context.Context, accountID, sendID int64, c SendContent) error
	// SendContent loads it; a send stored without content has the zero
	// SendContent. ErrNotFound if the send is absent.
	SendContent(ctx context.Context, accountID, sendID int64) (SendContent, error)

	// EmailSendDefinitions (the templates that Perform start and Schedule
	// turn into Sends).
	//
	// InsertEmailSendDefinition stores d and sets d.ID; ErrExists on a
	// duplicate CustomerKey within the account.
	InsertEmailSendDefinition(ctx context.Context, d *EmailSendDefinition) error
	// EmailSendDefinitionByKey finds one by ID, ObjectID or CustomerKey
	// (the first set in key). ErrNotFound if none matches.
	EmailSendDefinitionByKey(ctx context.Context, accountID int64, key SendKey) (EmailSendDefinition, error)
	// FindEmailSendDefinitions returns account's definitions that f
	// matches (all of them for a nil f), by ID. f is evaluated as
	// FindSends evaluates a Filter, on the fields in DefinitionFields; a
	// filter on any other field is an error.
	FindEmailSendDefinitions(ctx context.Context, accountID int64, f Filter) ([]EmailSendDefinition, error)
	// DeleteEmailSendDefinition deletes one by ID. ErrNotFound if absent.
	// Sends already started from it are kept.
	DeleteEmailSendDefinition(ctx context.Context, accountID, id int64) error

	// Lists, legacy campaigns and Single Sends (see MarketingTx).
	MarketingTx
}

// Queue is the dispatcher's view of the store. Unlike Tx, its methods work
// across accounts; each runs in its own transaction, and every one is safe
// with several dispatchers — in one process or in several sharing the
// database — working at once: a due send is claimed by exactly one of them
// (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: its single writer), and the
// outbox holds at most one entry per send, whoever completes it.
type Queue interface {
	// ClaimDueSends moves up to c.Limit sends from Scheduled to Sending
	// and returns them with their content, earliest SendDate first: those
	// with SendDate <= c.Now, and those left Sending by a dispatcher whose
	// lease ran out before c.Now (it crashed mid-dispatch). Each is leased
	// to c.Owner until c.LeaseUntil.
	ClaimDueSends(ctx context.Context, c Claim) ([]ClaimedSend, error)
	// CompleteSends records claimed sends as delivered, in one
	// transaction: for each entry it inserts the entry into the outbox and
	// moves send e.SendID from Sending to Complete, with SentDate
	// e.DeliveredAt and NumberSent e.NumberSent, and sets e.ID. An entry
	// whose send the outbox already holds (another dispatcher completed it
	// after this one's lease ran out), or that is no longer Sending, is
	// skipped and keeps ID 0: the outbox's uniqueness on the send is the
	// last guard against a double delivery. It returns how many it
	// completed.
	CompleteSends(ctx context.Context, entries []OutboxEntry) (int, error)
	// FailSend moves a Sending send to Error: its delivery failed for good.
	FailSend(ctx context.Context, sendID int64, now time.Time) error
	// DiscardCanceledSends marks Canceled sends due at now (SendDate <=
	// now) as discarded: they stay Canceled, visible as such, and are
	// never held or sent again. It returns how many it marked.
	DiscardCanceledSends(ctx context.Context, now time.Time) (int, error)
	// ExpirePausedSends moves Paused sends with a SendDate before
	// sendDateBefore to Expired at now, and returns how many.
	ExpirePausedSends(ctx context.Context, sendDateBefore, now time.Time) (int, error)
	// NextDueSend is the earliest SendDate of a Scheduled send, or false
	// when none is scheduled.
	NextDueSend(ctx context.Context) (time.Time, bool, error)

	// Outbox lists delivered sends, newest first.
	Outbox(ctx context.Context, q OutboxQuery) ([]OutboxEntry, error)

	// FlushAccount discards everything pending for an account — its
	// Scheduled and Paused sends become Canceled and discarded, so they are
	// never sent and no longer count as held — and records a.Action
	// ("flush") with a.Count set to how many, in one transaction. It
	// sets a.ID and a.Count. ErrNotFound if the account is absent.
	FlushAccount(ctx context.Context, a *OperatorAction) error
	// OperatorActions lists recorded operator actions, newest first; n <= 0
	// means all.
	OperatorActions(ctx context.Context, n int) ([]OperatorAction, error)
	// RecordOperatorAction records an action that changes no send (a
	// user's password rotated, an account disabled …) and sets a.ID.
	RecordOperatorAction(ctx context.Context, a *OperatorAction) error
}

// Claim says which sends ClaimDueSends may take and for how long.
type Claim struct {
	Now        time.Time
	Owner      string // identifies the dispatcher, for the operator
	LeaseUntil time.Time
	Limit      int
}

// ClaimedSend is a send a dispatcher holds, with what to deliver.
type ClaimedSend struct {
	Send
	Content SendContent
	// Attempt is 1 on the first claim; more when an earlier claim's lease
	// ran out before the send was completed.
	Attempt int
}

// SendContent is what a send delivers when partnerd sends real mail: the
// inline Email (Subject, HTMLBody, TextBody) and the addresses of the
// Lists' Subscribers given at Create. A send without content is still
// dispatched and captured in the outbox.
type SendContent struct {
	Subject    string
	HTMLBody   string
	TextBody   string
	Recipients []Recipient
}

// IsZero reports whether c holds nothing.
func (c SendContent) IsZero() bool {
	return c.Subject == "" && c.HTMLBody == "" && c.TextBody == "" && len(c.Recipients) == 0
}

// Recipient is one subscriber of a send's lists.
type Recipient struct {
	Address       string
	SubscriberKey string `json:",omitempty"`
	ListID        int64  `json:",omitempty"`
}

// OutboxEntry is one delivered send: what went out, to whom, and how.
type OutboxEntry struct {
	ID          int64
	SendID      int64
	AccountID   int64
	ObjectID    string
	Subject     string
	FromName    string
	FromAddress string
	Recipients  []string
	HTMLBody    string
	TextBody    string
	NumberSent  int64
	// Transport is "outbox" (captured only) or "smtp".
	Transport   string
	MessageID   string
	Attempt     int
	DeliveredAt time.Time
}

// OutboxQuery selects outbox entries.
type OutboxQuery struct {
	AccountID int64 // 0: every account
	Last      int   // at most this many, newest first; <= 0 means all
}

// OperatorAction is an action taken by an operator from the command line
// (e.g. flushing an account's queue), kept as a record of who stopped what.
type OperatorAction struct {
	ID        int64
	Action    string // "flush"
	AccountID int64
	Actor     string // who ran it (the OS user), for the record
	Detail    string
	Count     int
	At        time.Time
	// Credential names the credential acted on ("user:acme-ci"), never
	// its secret; empty for an action on the whole account.
	Credential string
}

// EmailSendDefinition is a reusable send: an Email to Lists with a sender,
// which Perform start (at once) and Schedule (at a StartDateTime) turn into
// Sends.
type EmailSendDefinition struct {
	ID                 int64
	AccountID          int64
	ObjectID           string
	CustomerKey        string
	Name               string
	Description        string
	EmailID            int64
	EmailSubject       string
	FromName           string
	FromAddress        string
	ListIDs            []int64
	SendClassification string // its CustomerKey or ObjectID, as given
	Content            SendContent
	CreatedDate        time.Time
	ModifiedDate       time.Time
}

// Account is a tenant (a Marketing Cloud business unit, a SendGrid
// account): it owns the sends, batches, definitions, outbox and API keys,
// and is reached through its credentials — its users (User) and API keys
// (APIKey). Disabled stops every one of them.
//
// An account's own user is the user named as the account (every store
// migrated from one-login accounts has one for each account):
// PasswordHash and PasswordSealed are that user's, so that an account
// made with a password is the one-login account of before. CreateAccount
// with a password (either field set) creates the own user with it, in the
// same transaction; UpdateAccount rewrites the own user's password (making
// the own user when the account has none and a password is given);
// AccountByUsername, AccountByID and ListAccounts read it (empty when the
// account has no own user).
type Account struct {
	ID       int64
	Username string // the account's name, unique among accounts
	ClientID int64  // the MID reported as Client.ID
	// PasswordHash is the own user's (see User.PasswordHash).
	PasswordHash string
	// PasswordSealed is the own user's (see User.PasswordSealed).
	PasswordSealed []byte
	Disabled       bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// User is one SOAP login of an account: a WS-Security UsernameToken's
// username and password. Every user of an account acts on the same sends;
// disabling one, or changing its password, refuses only its own requests.
type User struct {
	ID        int64
	AccountID int64
	Username  string // unique across the server
	// PasswordHash is a slow, salted hash (see package credential) used to
	// check PasswordText tokens.
	PasswordHash string
	// PasswordSealed is the password encrypted with the server's secret
	// key: PasswordDigest tokens can only be checked against the clear
	// password, so it is kept recoverable, but never in plain text.
	PasswordSealed []byte
	Disabled       bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// APIKey is one API key of an account, as stored: never the secret, only
// its hash (package auth decides how it is hashed and checked).
type APIKey struct {
	ID         string // the <id> of SG.<id>.<secret>, unique across accounts
	AccountID  int64
	Name       string
	Scopes     []string
	SecretHash []byte
	Created    time.Time
	RevokedAt  time.Time // zero while the key is live
}

// TokenClient is one installed package's credentials for the OAuth2 token
// endpoints (a "client"): never its secret, only its hash (package auth
// decides how it is hashed and checked).
type TokenClient struct {
	ID         string // client_id, unique across accounts
	AccountID  int64
	MID        int64 // the account id (MID) its tokens are for
	Scopes     []string
	SecretHash []byte
	Created    time.Time
	RevokedAt  time.Time // zero while the client is live
}

// Kinds of IssuedToken.
const (
	TokenAccess  = "access"  // an access token (v2 access_token, v1 accessToken)
	TokenLegacy  = "legacy"  // a v1 legacyToken (the oAuthToken header)
	TokenRefresh = "refresh" // a v1 refreshToken, used once
)

// IssuedToken is a token issued to a TokenClient, as stored: its hash,
// never its value.
type IssuedToken struct {
	Hash      []byte // SHA-256 of the value, unique
	Kind      string // TokenAccess, TokenLegacy or TokenRefresh
	ClientID  string
	AccountID int64
	Scopes    []string
	Created   time.Time
	Expires   time.Time
}

// SendStatus is the lifecycle state of a Send.
type SendStatus string

// The statuses of a Send (../shared/DESIGN.md).
const (
	StatusScheduled SendStatus = "Scheduled"
	StatusPaused    SendStatus = "Paused"
	StatusCanceled  SendStatus = "Canceled"
	StatusSending   SendStatus = "Sending"
	StatusComplete  SendStatus = "Complete"
	StatusExpired   SendStatus = "Expired"
	StatusError     SendStatus = "Error"
)

// Send is one scheduled send of an email to lists.
type Send struct {
	ID          int64
	AccountID   int64
	ObjectID    string // lower-case GUID
	CustomerKey string
	EmailID     int64
	EmailName   string
	Subject     string
	FromName    string
	FromAddress string
	ListIDs     []int64
	SendDate    time.Time
	Status      SendStatus
	SentDate    time.Time // zero until sent
	NumberSent  int64
	// StatusChangedAt is when Status last changed (paused, canceled …).
	StatusChangedAt time.Time
	CreatedDate     time.Time
	ModifiedDate    time.Time
	// BatchID is the batch the send belongs to. InsertSend with an empty
	// one gives the send a batch of its own; a non-empty one must be a
	// batch of the account (ErrNotFound otherwise). It never changes.
	BatchID string
	// OwnBatchID, when BatchID is empty, is the ID InsertSend gives the
	// send's batch of its own (the send service draws it from its ID
	// source, so that a deterministic server's batch IDs repeat); empty
	// lets the store draw a random one. Ignored when BatchID is set.
	OwnBatchID string
	// Discarded: a Canceled send out of the queue for good (its SendDate
	// came, or an operator flushed it); it is never held or sent again.
	// Read only: the Queue sets it.
	Discarded bool
	// Origin is the path that created the send; it never changes.
	Origin Origin
	// OriginID names the object a campaign's or Single Send's send was
	// created for: the campaign's ID or the Single Send's ID; empty for
	// every other origin.
	OriginID string
}

// Origin is the path that created a send: what the person who asked for
// it would call it. The send service sets it where each path creates
// sends; the console lists and filters sends by it. The values are stored
// and written in console links: they never change meaning.
type Origin string

// The origins of sends.
const (
	// OriginUnknown: a send stored before origins were recorded (schema
	// version 15) that the migration could not place, or a fixture's.
	OriginUnknown Origin = ""
	// OriginSOAP: a Send created by a SOAP Create.
	OriginSOAP Origin = "soap"
	// OriginDefinition: an EmailSendDefinition started or scheduled
	// (SOAP Perform start / Schedule).
	OriginDefinition Origin = "definition"
	// OriginREST: a personalization of a SendGrid POST /v3/mail/send.
	OriginREST Origin = "rest"
	// OriginCampaign: a chunk of a legacy campaign's schedule.
	OriginCampaign Origin = "campaign"
	// OriginSingleSend: a chunk of a Single Send's schedule.
	OriginSingleSend Origin = "singlesend"
)

// Origins are the origins a send can be created with, in the order a
// list offers them.
var Origins = []Origin{OriginSOAP, OriginDefinition, OriginREST, OriginCampaign, OriginSingleSend}

// Valid reports whether o is one of Origins.
func (o Origin) Valid() bool {
	for _, x := range Origins {
		if o == x {
			return true
		}
	}
	return false
}

// Hold is a batch's pause or cancel state (SendGrid's scheduled send
// status): HoldNone, HoldPause or HoldCancel.
type Hold string

// The holds of a batch.
const (
	HoldNone   Hold = ""
	HoldPause  Hold = "pause"
	HoldCancel Hold = "cancel"
)

// Batch groups sends so that they can be paused or canceled together.
type Batch struct {
	ID            string // BatchIDLength characters [A-Za-z0-9]; unique across accounts
	AccountID     int64
	Created       time.Time
	Hold          Hold
	HoldChangedAt time.Time // zero when never held
}

// BatchIDLength is the length of the batch IDs NewBatchID makes (as
// SendGrid's).
const BatchIDLength = 32

const batchIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewBatchID is a random batch ID: 32 characters of [A-Za-z0-9], about
// 190 bits, so that one account cannot guess another's (lookups are scoped
// to the account anyway).
func NewBatchID() string { return NewBatchIDFrom(rand.Reader) }

// NewBatchIDFrom is NewBatchID drawing on r (an ids.Source).
func NewBatchIDFrom(r io.Reader) string {
	var b [BatchIDLength]byte
	// 62 does not divide 256: bytes of 248 and above are drawn again so
	// that every character is equally likely.
	var buf [2 * BatchIDLength]byte
	for i := 0; i < len(b); {
		io.ReadFull(r, buf[:]) // never fails (crypto/rand crashes rather than return an error; ids.Source cannot)
		for _, c := range buf {
			if c >= 248 {
				continue
			}
			b[i] = batchIDAlphabet[int(c)%len(batchIDAlphabet)]
			if i++; i == len(b) {
				break
			}
		}
	}
	return string(b[:])
}

// SendKey identifies a send by one of its keys.
type SendKey struct {
	ID          int64
	ObjectID    string
	CustomerKey string
}

// Field names a Send (or EmailSendDefinition) column that filters may
// use.
type Field string

// Fields a Filter may test.
const (
	FieldID           Field = "ID"
	FieldObjectID     Field = "ObjectID"
	FieldCustomerKey  Field = "CustomerKey"
	FieldStatus       Field = "Status"
	FieldSendDate     Field = "SendDate"
	FieldSentDate     Field = "SentDate"
	FieldCreatedDate  Field = "CreatedDate"
	FieldModifiedDate Field = "ModifiedDate"
	FieldEmailID      Field = "EmailID"
	FieldEmailName    Field = "EmailName"
	FieldSubject      Field = "Subject"
	// FieldOrigin is a Send's Origin (a string; "" for OriginUnknown).
	FieldOrigin Field = "Origin"
	// FieldName is an EmailSendDefinition's Name (sends have none).
	FieldName Field = "Name"
)

// DefinitionFields are the fields a Filter may test in
// FindEmailSendDefinitions. They compare as the same fields of a Send do
// (Name as a string field): definitions and sends are filtered by one
// engine, with one set of rules for case, Like and dates.
var DefinitionFields = []Field{FieldID, FieldObjectID, FieldCustomerKey, FieldName, FieldCreatedDate, FieldModifiedDate}

// Op is a comparison in a Filter.
type Op string

// Comparisons. Values holds one operand, two for Between, one or more for
// In, none for IsNull/IsNotNull.
//
// Between is inclusive. Like takes an SQL LIKE pattern (% any run, _ any
// one character), ignores ASCII case, and applies to string fields only.
// IsNull matches a field left unset: a zero time, an empty string, a zero
// int. Every other comparison with an unset date is false, as with SQL
// NULL. A zero time given as a value is the instant 0001-01-01T00:00:00Z
// (.NET's DateTime.MinValue), which no set date equals. Strings compare
// byte by byte, but ObjectIDs compared for (in)equality or IN are compared
// in their canonical spelling (CanonicalObjectID). In takes any number of
// values; Like takes a pattern of at most MaxLikePattern bytes; Ands and
// Ors nest at most MaxFilterDepth deep.
const (
	OpEquals             Op = "equals"
	OpNotEquals          Op = "notEquals"
	OpGreaterThan        Op = "greaterThan"
	OpLessThan           Op = "lessThan"
	OpGreaterThanOrEqual Op = "greaterThanOrEqual"
	OpLessThanOrEqual    Op = "lessThanOrEqual"
	OpBetween            Op = "between"
	OpIn                 Op = "IN"
	OpLike               Op = "like"
	OpIsNull             Op = "isNull"
	OpIsNotNull          Op = "isNotNull"
)

// Filter is a boolean expression over Send fields (or, in
// FindEmailSendDefinitions, definition fields): a *Cond, an *And or an
// *Or. A nil Filter matches everything.
type Filter interface{ filter() }

// Cond compares one field. Values are int64 (ID, EmailID), string
// (ObjectID, CustomerKey, Status, EmailName, Subject, Origin, Name) or time.Time (dates),
// already parsed and validated by the caller.
type Cond struct {
	Field  Field
	Op     Op
	Values []any
}

// And matches when both sides match.
type And struct{ Left, Right Filter }

// Or matches when either side matches.
type Or struct{ Left, Right Filter }

func (*Cond) filter() {}
func (*And) filter()  {}
func (*Or) filter()   {}

// SendQuery selects sends for FindSends.
type SendQuery struct {
	Filter  Filter
	AfterID int64 // only sends with ID > AfterID (keyset paging)
	Limit   int   // 0 means no limit
}

// Cursor is the saved state of a Retrieve that returned MoreDataAvailable.
type Cursor struct {
	RequestID string
	AccountID int64
	// Query is the caller's encoding of what was asked (properties, filter).
	Query   []byte
	AfterID int64
	Expires time.Time
}

// RequestLog is one SOAP exchange as stored for the inspector.
type RequestLog struct {
	RequestID string
	// Face is the face that served the exchange ("soap", "admin" …);
	// Method and Path are its HTTP method and URL path. Entries logged
	// before faces were recorded have "soap", "POST" and "/Service.asmx".
	Face       string
	Method     string
	Path       string
	AccountID  int64  // 0 when the caller was not authenticated
	Username   string // the name of the account the request acted for
	Operation  string
	Status     string // OverallStatus, or "Fault"
	HTTPStatus int
	Detail     string // why a fault happened (the client is not told)
	Remote     string
	Request    string // secrets masked; may be cut or left out (RequestNote)
	Response   string
	ReceivedAt time.Time
	Duration   time.Duration
	// RequestSize and ResponseSize are the bodies' lengths as received
	// and sent; Request and Response may hold less.
	RequestSize  int64
	ResponseSize int64
	// RequestNote and ResponseNote say why Request or Response is not the
	// whole body (its secrets aside): cut to the log's size limit, or not
	// kept because it could not be read as UTF-8 XML. Empty when whole.
	RequestNote  string
	ResponseNote string
	// CredentialKind and Credential name the credential the request
	// logged in with, never its secret: "user" and its username, "apikey"
	// and the key's ID; empty when it did not log in. Entries logged
	// before credentials were recorded have the account's name as a
	// "user" for SOAP, nothing for other faces.
	CredentialKind string
	Credential     string
}

// RequestQuery selects exchanges for SearchRequests; a zero field selects
// every exchange.
type RequestQuery struct {
	AccountID       int64  // > 0: that account's exchanges only
	RequestIDPrefix string // RequestIDs that begin with it
	Face            string // exactly
	// Operation and Status match ignoring the case of ASCII letters.
	Operation, Status string
	// MinDuration and MaxDuration bound Duration, both inclusive;
	// MaxDuration 0 sets no upper bound.
	MinDuration, MaxDuration time.Duration
	// After continues a search: the RequestID of the last exchange of the
	// previous page; only exchanges after it in newest-first order are
	// returned. An After that names no exchange the query selects by
	// AccountID returns none.
	After string
	Limit int // > 0
}

// CredentialCount is how many requests one credential made.
type CredentialCount struct {
	Kind, Name string
	Count      int64
}

// RequestLogSize estimates the bytes an exchange takes as stored, for
// PruneRequestBytes: its text fields and its bodies as given (a store that
// compresses them counts their compressed size instead), plus a fixed
// allowance for the row's keys, numbers and indexes.
func RequestLogSize(e RequestLog) int64 {
	const rowOverhead = 96
	return rowOverhead + int64(len(e.RequestID)+len(e.Face)+len(e.Method)+len(e.Path)+len(e.Username)+len(e.CredentialKind)+len(e.Credential)+len(e.Operation)+len(e.Status)+len(e.Detail)+len(e.Remote)+
		len(e.Request)+len(e.Response)+len(e.RequestNote)+len(e.ResponseNote))
}

// ---- Marketing: recipient lists, legacy campaigns, Single Sends ----
//
// The rows behind package marketing (SendGrid's /v3/campaigns and
// /v3/marketing/singlesends). A campaign or Single Send owns no sends in the
// store: it is sent by ordinary sends (package sending), which it finds by
// the ScheduleToken their CustomerKeys carry, so that the dispatcher, SOAP
// Retrieve and every rule see them like any other send.

// MarketingTx is the part of Tx over lists, campaigns and Single Sends.
// Like the rest of Tx, every method is scoped to an account.
type MarketingTx interface {
	// InsertList stores l with its Recipients, setting l.ID; l.UUID, the
	// list's id for Single Sends, is the caller's to set. ErrExists when
	// the account already has a list named l.Name (or with l.UUID).
	InsertList(ctx context.Context, l *MarketingList) error
	// ListByKey finds one of account's lists by ID, else UUID, else Name
	// (the first set in k), with its recipients. ErrNotFound if none.
	ListByKey(ctx context.Context, accountID int64, k ListKey) (MarketingList, error)
	// FindLists returns account's lists by ID, with RecipientCount but no
	// Recipients.
	FindLists(ctx context.Context, accountID int64) ([]MarketingList, error)

	// InsertCampaign stores c, setting c.ID (never reused) and c.Version.
	InsertCampaign(ctx context.Context, c *Campaign) error
	// CampaignByID finds one of account's campaigns. ErrNotFound if absent.
	CampaignByID(ctx context.Context, accountID, id int64) (Campaign, error)
	// FindCampaigns returns account's campaigns newest (highest ID) first,
	// skipping offset and returning at most limit (> 0).
	FindCampaigns(ctx context.Context, accountID int64, limit, offset int) ([]Campaign, error)
	// UpdateCampaign rewrites c's fields, state and schedule on condition
	// that its Version is still c.Version (compare-and-set: ErrConflict when
	// another call changed it since it was read), and advances c.Version.
	// ErrNotFound if absent.
	UpdateCampaign(ctx context.Context, c *Campaign) error
	// DeleteCampaign deletes one of account's campaigns. ErrNotFound if absent.
	DeleteCampaign(ctx context.Context, accountID, id int64) error

	// InsertSingleSend stores s (s.ID, a UUID, is the caller's to set),
	// setting s.Seq and s.Version. ErrExists on a duplicate ID.
	InsertSingleSend(ctx context.Context, s *SingleSend) error
	// SingleSendByID finds one of account's Single Sends. ErrNotFound if absent.
	SingleSendByID(ctx context.Context, accountID int64, id string) (SingleSend, error)
	// FindSingleSends returns account's Single Sends with Seq > afterSeq, in
	// Seq (creation) order, at most limit (> 0): keyset paging.
	FindSingleSends(ctx context.Context, accountID int64, afterSeq int64, limit int) ([]SingleSend, error)
	// UpdateSingleSend is UpdateCampaign for a Single Send.
	UpdateSingleSend(ctx context.Context, s *SingleSend) error
	// DeleteSingleSend deletes one. ErrNotFound if absent.
	DeleteSingleSend(ctx context.Context, accountID int64, id string) error

	// DiscardSendFrom cancels send sendID of accountID and discards it at
	// once (like FlushAccount, for one send) on condition that it is still
	// in status from: ErrConflict when it moved (a dispatcher claimed it),
	// ErrNotFound if absent. It is how a halted campaign's sends are taken
	// out of the queue: they are never sent and, unlike a cancel that waits
	// for its SendDate, never count as held.
	DiscardSendFrom(ctx context.Context, accountID, sendID int64, from SendStatus, now time.Time) error
}

// MarketingList is a named set of recipients a campaign (by ID) or a Single
// Send (by UUID) is sent to.
type MarketingList struct {
	ID        int64  // the legacy campaigns' list_ids
	UUID      string // the Single Sends' send_to.list_ids
	AccountID int64
	Name      string // unique in the account
	Created   time.Time
	// Recipients in the order given; loaded by ListByKey only.
	Recipients []ListRecipient
	// RecipientCount is len(Recipients) as stored.
	RecipientCount int
}

// ListRecipient is one address of a list.
type ListRecipient struct {
	Address string
	Name    string `json:",omitempty"`
}

// ListKey names a list by the first of its keys that is set.
type ListKey struct {
	ID   int64
	UUID string
	Name string
}

// ScheduleState is what a campaign or Single Send has been told: Draft, or
// scheduled with sends in the queue. What those sends have become since
// (in progress, sent …) is read from them, not stored here.
type ScheduleState string

// Schedule states.
const (
	StateDraft     ScheduleState = "draft"
	StateScheduled ScheduleState = "scheduled"
)

// Campaign is a legacy Marketing Campaign (/v3/campaigns).
type Campaign struct {
	ID        int64
	AccountID int64
	CampaignFields
	State ScheduleState
	// SendAt is when its sends are due (set while scheduled).
	SendAt time.Time
	// ScheduleToken is carried by the CustomerKeys of the sends the
	// current schedule created ("" in Draft); a new one per schedule, so
	// that sends of an earlier, unscheduled run are never taken for these.
	ScheduleToken string
	Version       int64 // compare-and-set counter, advanced by every update
	Created       time.Time
	Updated       time.Time
}

// CampaignFields are a campaign's editable fields, as the API names them.
type CampaignFields struct {
	Title                string
	Subject              string
	SenderID             *int64
	ListIDs              []int64
	SegmentIDs           []int64
	Categories           []string
	SuppressionGroupID   *int64
	CustomUnsubscribeURL string
	IPPool               string
	HTMLContent          string
	PlainContent         string
	Editor               string
}

// SingleSend is a new Marketing Campaigns Single Send (/v3/marketing/singlesends).
type SingleSend struct {
	ID        string // UUID
	Seq       int64  // creation order, the paging key
	AccountID int64
	SingleSendFields
	State ScheduleState
	// SendAt: in Draft, the time a client pre-filled (zero for none);
	// scheduled, when its sends are due.
	SendAt        time.Time
	ScheduleToken string
	Version       int64
	Created       time.Time
	Updated       time.Time
}

// SingleSendFields are a Single Send's editable fields.
type SingleSendFields struct {
	Name        string
	Categories  []string
	SendTo      SendTo
	EmailConfig EmailConfig
}

// SendTo is who a Single Send goes to.
type SendTo struct {
	ListIDs    []string
	SegmentIDs []string
	All        bool
}

// EmailConfig is what a Single Send delivers.
type EmailConfig struct {
	Subject                    string
	HTMLContent                string
	PlainContent               string
	GenerateUniquePlainContent bool
	Editor                     string
	SuppressionGroupID         *int64
	CustomUnsubscribeURL       string
	SenderID                   *int64
	IPPool                     string
}

// ---- Console sessions and operator actions (optional interfaces) ----

// Session is one signed-in console session. The store keeps it so that any
// of several servers sharing the store can serve its next request.
type Session struct {
	// IDHash is the SHA-256 of the cookie's random ID, never the ID
	// itself: a reader of the store cannot take over a session.
	IDHash []byte
	// AccountID is the account signed in; 0 is the operator.
	AccountID int64
	// Actor names who is signed in, for operator actions ("acme",
	// "operator").
	Actor string
	// CSRF is the token every state-changing request of the session must
	// carry.
	CSRF string
	// PasswordStamp fingerprints the account's password hash at sign-in:
	// a password changed since, by any path, ends the session.
	PasswordStamp string
	Created       time.Time
	Expires       time.Time
}

// SessionStore keeps console sessions. A store that implements it holds
// sessions across servers and restarts; the console keeps them in memory
// otherwise.
type SessionStore interface {
	// CreateSession stores s; it may forget sessions expired by s.Created.
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash is the session whose IDHash is idHash, ErrNotFound
	// when there is none or it expired before now.
	SessionByHash(ctx context.Context, idHash []byte, now time.Time) (Session, error)
	// DeleteSession ends one session (no error when it is gone already).
	DeleteSession(ctx context.Context, idHash []byte) error
	// DeleteAccountSessions ends every session of an account and returns
	// how many there were.
	DeleteAccountSessions(ctx context.Context, accountID int64) (int, error)
}

// LoginEvent is one login outcome a LoginLog shares between processes.
type LoginEvent struct {
	Remote  string // host:port (or host) the credential came from
	Subject string // the login name it presented
	// Failed: a guess, charged to the throttle's counts; false: a
	// success, which makes its (source, account) pair known.
	Failed bool
	At     time.Time
}

// LoginLog is an optional capability of a store several processes share
// (PostgreSQL): a record of login outcomes, so that login-failure
// throttling counts failures across every process. A store one process
// owns (SQLite) has none: its process's memory sees every login.
type LoginLog interface {
	// RecordLogin records e for the other processes.
	RecordLogin(ctx context.Context, e LoginEvent) error
	// FollowLogins calls fn, from one goroutine, with every event since
	// since recorded by other processes, then with each one they record,
	// as it is committed, until ctx ends (it returns ctx's error). It
	// reconnects by itself after a lost connection.
	FollowLogins(ctx context.Context, since time.Time, fn func(LoginEvent)) error
}

// ErrInstanceLocked is LockInstance's answer when another process holds
// the instance lock in a conflicting mode.
var ErrInstanceLocked = errors.New("store: another partnerd process holds the database's instance lock")

// InstanceLocker is an optional capability of a store several processes
// may share (PostgreSQL): a lock on the database held by a serving
// process. A process that must have the database to itself (a manual
// clock) takes it exclusive; every other serving process takes it
// shared, so either kind refuses to start beside the other.
type InstanceLocker interface {
	// LockInstance takes the lock, exclusive or shared, without waiting:
	// ErrInstanceLocked when a conflicting holder has it. release gives
	// it back; so does the end of the process.
	LockInstance(ctx context.Context, exclusive bool) (release func(), err error)
}
