package golden

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/store"
)

// Fixture is the state a case's set-up lines build, and that the test's
// Harness.Start builds its server from: a store (the one
// PARTNERD_TEST_STORE picks), a manual clock, the sealer of account
// passwords, the lifecycle policy and the accounts by username.
type Fixture struct {
	T        *testing.T
	Store    store.Store
	Clock    *clock.Manual
	Sealer   *credential.Sealer
	Policy   lifecycle.Policy
	Accounts map[string]store.Account
	// SendGridRate is the SendGrid face's requests per minute per key
	// (0: the face's default); a "sendgrid rate=N" line sets it.
	SendGridRate int
	// IDs, when set, is the ID source of what set-up lines create (list
	// UUIDs), for a server built on the same source: a deterministic
	// one's cases then repeat byte for byte. Nil: random.
	IDs   ids.Source
	sends int
}

// NewFixture is a fresh fixture for t: the clock at 2026-01-15T12:00:00Z,
// the default policy, and the accounts every case starts with — XXX/XXX
// (client 10001), alice/alice-pw (1001) and bob/bob-pw (1002).
func NewFixture(t *testing.T) *Fixture {
	clk := clock.NewManual(Start)
	db := testrig.OpenStore(t)
	sealer, err := credential.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &Fixture{T: t, Store: db, Sealer: sealer, Policy: lifecycle.DefaultPolicy,
		Clock: clk, Accounts: map[string]store.Account{}}
	f.AddAccount("XXX", "XXX", 10001, false)
	f.AddAccount("alice", "alice-pw", 1001, false)
	f.AddAccount("bob", "bob-pw", 1002, false)
	return f
}

// AddAccount creates an account with password pw.
func (f *Fixture) AddAccount(user, pw string, clientID int64, disabled bool) {
	hash, err := credential.Hash(pw)
	if err != nil {
		f.T.Fatal(err)
	}
	a := store.Account{Username: user, ClientID: clientID, PasswordHash: hash, PasswordSealed: f.Sealer.Seal(pw), Disabled: disabled}
	if err := f.Store.CreateAccount(context.Background(), &a); err != nil {
		f.T.Fatal(err)
	}
	f.Accounts[user] = a
}

// AddUser adds user (password pw) to account, which the fixture holds.
func (f *Fixture) AddUser(user, pw, account string, disabled bool) {
	a, ok := f.Accounts[account]
	if !ok {
		f.T.Fatalf("user %s: no account %q in the case", user, account)
	}
	hash, err := credential.Hash(pw)
	if err != nil {
		f.T.Fatal(err)
	}
	u := store.User{AccountID: a.ID, Username: user, PasswordHash: hash, PasswordSealed: f.Sealer.Seal(pw), Disabled: disabled}
	if err := f.Store.CreateUser(context.Background(), &u); err != nil {
		f.T.Fatal(err)
	}
}

// When parses an absolute time (RFC 3339) or one relative to the clock
// ("+2h", "-5m").
func (f *Fixture) When(v string) time.Time {
	t, err := when(v, f.Clock.Now())
	if err != nil {
		f.T.Fatal(err)
	}
	return t
}

// Apply applies one set-up line:
//
//	clock TIME
//	account USER PASSWORD CLIENTID [disabled]
//	send USER key=value … (id, objectid, senddate, sentdate, status, customerkey, email, subject, lists)
//	sends USER count=N key=value …
//	policy cutoff=D held=N
//	apikey USER TOKEN [name=NAME] [scopes=a,b,…|none]
//	sendgrid rate=N
//	list USER NAME [ADDRESS,ADDRESS,…]
//	tokenclient USER CLIENTID SECRET [mid=N] [scopes=a,b,…]
func (f *Fixture) Apply(line string) {
	t := f.T
	fields := strings.Fields(line)
	kv := map[string]string{}
	for _, p := range fields[1:] {
		if k, v, ok := strings.Cut(p, "="); ok {
			kv[k] = v
		}
	}
	switch fields[0] {
	case "clock":
		f.Clock.Set(f.When(fields[1]))
	case "account":
		id, _ := strconv.ParseInt(fields[3], 10, 64)
		f.AddAccount(fields[1], fields[2], id, len(fields) > 4 && fields[4] == "disabled")
	case "user":
		// user USERNAME PASSWORD ACCOUNT [disabled]: another login of an
		// account a line before (or the fixture) created.
		if len(fields) < 4 {
			t.Fatalf("bad user line %q: want user USERNAME PASSWORD ACCOUNT [disabled]", line)
		}
		f.AddUser(fields[1], fields[2], fields[3], len(fields) > 4 && fields[4] == "disabled")
	case "policy":
		if v, ok := kv["cutoff"]; ok {
			f.Policy.CancelCutoff, _ = time.ParseDuration(v)
		}
		if v, ok := kv["held"]; ok {
			f.Policy.HeldLimit, _ = strconv.Atoi(v)
		}
	case "apikey":
		f.addKey(line, fields, kv)
	case "sendgrid":
		if v, ok := kv["rate"]; ok {
			f.SendGridRate, _ = strconv.Atoi(v)
		}
	case "list":
		f.addList(line, fields)
	case "tokenclient":
		f.addTokenClient(line, fields, kv)
	case "send", "sends":
		acct, ok := f.Accounts[fields[1]]
		if !ok {
			t.Fatalf("unknown account in %q", line)
		}
		count := 1
		if v, ok := kv["count"]; ok {
			count, _ = strconv.Atoi(v)
		}
		err := f.Store.Update(context.Background(), func(tx store.Tx) error {
			for range count {
				if err := tx.InsertSend(context.Background(), f.newSend(acct, kv)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	default:
		t.Fatalf("unknown set-up line %q", line)
	}
}

// addKey stores an API key whose token the case knows, as auth.Keys.Create
// stores a new one (auth.KeyRecord: hashed, scopes normalised): scopes
// omitted is full access, "none" is a key that may do nothing.
func (f *Fixture) addKey(line string, fields []string, kv map[string]string) {
	if len(fields) < 3 {
		f.T.Fatalf("%q: want apikey USER TOKEN [name=NAME] [scopes=a,b]", line)
	}
	acct, ok := f.Accounts[fields[1]]
	if !ok {
		f.T.Fatalf("unknown account in %q", line)
	}
	name := kv["name"]
	if name == "" {
		name = "golden key"
	}
	var scopes []string
	switch v, ok := kv["scopes"]; {
	case ok && v == "none":
		scopes = []string{}
	case ok:
		scopes = strings.Split(v, ",")
	}
	rec, err := auth.KeyRecord(acct.ID, fields[2], name, scopes, f.Clock.Now())
	if err != nil {
		f.T.Fatalf("%s: %v", line, err)
	}
	if err := f.Store.CreateAPIKey(context.Background(), rec, 0); err != nil {
		f.T.Fatalf("%s: %v", line, err)
	}
}

// addList creates a marketing list of recipients (none if no addresses
// are given), through
// marketing.Service.CreateList as `partnerd list create` does, so that the
// list has the integer id and the UUID a real one has.
func (f *Fixture) addList(line string, fields []string) {
	if len(fields) != 3 && len(fields) != 4 {
		f.T.Fatalf("%q: want list USER NAME [ADDRESS,ADDRESS,…]", line)
	}
	acct, ok := f.Accounts[fields[1]]
	if !ok {
		f.T.Fatalf("unknown account in %q", line)
	}
	var recipients []store.ListRecipient
	for _, addr := range strings.Split(strings.Join(fields[3:], ""), ",") {
		if addr == "" {
			continue // a list with no recipients
		}
		recipients = append(recipients, store.ListRecipient{Address: addr})
	}
	svc := &marketing.Service{Store: f.Store, Clock: f.Clock, IDs: f.IDs}
	if _, err := svc.CreateList(context.Background(), acct.ID, fields[2], recipients); err != nil {
		f.T.Fatalf("%s: %v", line, err)
	}
}

// newSend is the next send of a send(s) line: Scheduled two hours from
// now, Email 100 to List 200, with a numbered ObjectID, changed by kv.
func (f *Fixture) newSend(acct store.Account, kv map[string]string) *store.Send {
	now := f.Clock.Now()
	f.sends++
	s := &store.Send{AccountID: acct.ID, ObjectID: fmt.Sprintf("00000000-0000-4000-8000-%012d", f.sends),
		EmailID: 100, ListIDs: []int64{200}, SendDate: now.Add(2 * time.Hour), Status: store.StatusScheduled,
		CreatedDate: now, ModifiedDate: now, StatusChangedAt: now}
	if f.IDs != nil {
		s.OwnBatchID = store.NewBatchIDFrom(f.IDs)
	}
	for k, v := range kv {
		switch k {
		case "id":
			s.ID, _ = strconv.ParseInt(v, 10, 64)
		case "objectid":
			s.ObjectID = v
		case "senddate":
			s.SendDate = f.When(v)
		case "sentdate":
			s.SentDate = f.When(v)
		case "status":
			s.Status = store.SendStatus(v)
		case "customerkey":
			s.CustomerKey = v
		case "email":
			s.EmailID, _ = strconv.ParseInt(v, 10, 64)
		case "subject":
			s.Subject = v
		case "lists":
			s.ListIDs = nil
			for _, l := range strings.Split(v, ",") {
				n, _ := strconv.ParseInt(l, 10, 64)
				s.ListIDs = append(s.ListIDs, n)
			}
		}
	}
	return s
}

// addTokenClient stores a token client (installed package) whose id and
// secret the case knows, hashed as auth.Tokens.CreateClient stores one;
// mid omitted is the account's client ID, scopes omitted the default ones.
func (f *Fixture) addTokenClient(line string, fields []string, kv map[string]string) {
	if len(fields) < 4 {
		f.T.Fatalf("%q: want tokenclient USER CLIENTID SECRET [mid=N] [scopes=a,b]", line)
	}
	acct, ok := f.Accounts[fields[1]]
	if !ok {
		f.T.Fatalf("unknown account in %q", line)
	}
	mid := acct.ClientID
	if v, ok := kv["mid"]; ok {
		mid, _ = strconv.ParseInt(v, 10, 64)
	}
	var scopes []string
	if v, ok := kv["scopes"]; ok {
		scopes = strings.Split(v, ",")
	}
	rec, err := auth.ClientRecord(acct.ID, mid, fields[2], fields[3], scopes, f.Clock.Now())
	if err != nil {
		f.T.Fatalf("%s: %v", line, err)
	}
	if err := f.Store.CreateTokenClient(context.Background(), rec); err != nil {
		f.T.Fatalf("%s: %v", line, err)
	}
}
