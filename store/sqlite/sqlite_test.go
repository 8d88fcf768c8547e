package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/storetest"
)

func TestConformance(t *testing.T) {
	root := t.TempDir()
	storetest.Run(t, func(t *testing.T) store.Store {
		// One file per subtest, named after it, so that a second open in
		// the same subtest re-opens the same database (see storetest.Run).
		db := openAt(t, filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "_")+".db"))
		return db
	})
}

// openAt opens path and closes it when t ends.
func openAt(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newDB(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "partnerd.db")
	return openAt(t, path), path
}

func TestOpenCreatesFile(t *testing.T) {
	// A relative path and a name that needs URI escaping.
	dir := t.TempDir()
	t.Chdir(dir)
	name := "a dir?#%/my db.sqlite"
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	openAt(t, name)
	if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
		t.Fatalf("database file not created where asked: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing-dir", "x.db")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestPragmas(t *testing.T) {
	db, _ := newDB(t)
	ctx := t.Context()
	pragma := func(d *sql.DB, name string) string {
		t.Helper()
		var v string
		if err := d.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	for _, c := range []struct {
		conn string
		d    *sql.DB
	}{{"writer", db.write}, {"reader", db.read}} {
		checks := []struct{ name, want string }{
			{"journal_mode", "wal"},
			{"synchronous", "2"}, // FULL
			{"foreign_keys", "1"},
			{"busy_timeout", "5000"},
		}
		for _, p := range checks {
			if got := pragma(c.d, p.name); got != p.want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", c.conn, p.name, got, p.want)
			}
		}
	}
	if got := pragma(db.read, "query_only"); got != "1" {
		t.Errorf("reader: query_only = %s, want 1", got)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	db, path := newDB(t)
	versions := func(db *DB) []int {
		t.Helper()
		rows, err := db.read.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var vs []int
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			vs = append(vs, v)
		}
		return vs
	}
	first := versions(db)
	if len(first) != len(migrations) || first[len(first)-1] != latestVersion() {
		t.Fatalf("applied versions %v, want all %d migrations", first, len(migrations))
	}
	a := store.Account{Username: "kept"}
	if err := db.CreateAccount(t.Context(), &a); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for range 2 {
		db := openAt(t, path)
		if got := versions(db); len(got) != len(first) {
			t.Errorf("re-open applied migrations again: %v", got)
		}
		if _, err := db.AccountByUsername(t.Context(), "kept"); err != nil {
			t.Errorf("data lost on re-open: %v", err)
		}
		db.Close()
	}
}

// reservedVersions are migration numbers given to branches developed in
// parallel and not merged here yet; the versions
// around them must still be 1, 2, 3… in order. Remove a number once its
// migration lands.
var reservedVersions = map[int]bool{}

func TestMigrationsOrdered(t *testing.T) {
	want := 1
	for i, m := range migrations {
		for reservedVersions[want] && m.version != want {
			want++
		}
		if m.version != want {
			t.Errorf("migration %d has version %d: versions must be 1, 2, 3… in order", i, m.version)
		}
		want = m.version + 1
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	db, path := newDB(t)
	if _, err := db.write.Exec(`INSERT INTO schema_migrations (version, name) VALUES (?, 'from the future')`, latestVersion()+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := Open(path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	_, path := newDB(t)
	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(append([]migration(nil), saved...), migration{
		version: latestVersion() + 1,
		name:    "broken",
		sql:     `CREATE TABLE half_done (x INTEGER); SELECT no_such_function();`,
	})
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("Open with a broken migration = %v, want an error naming it", err)
	}
	migrations = saved
	db := openAt(t, path)
	var n int
	if err := db.read.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("a failed migration left its first statement applied")
	}
}

func TestIntegrity(t *testing.T) {
	db, _ := newDB(t)
	ctx := t.Context()
	a := store.Account{Username: "acct"}
	if err := db.CreateAccount(ctx, &a); err != nil {
		t.Fatal(err)
	}
	err := db.Update(ctx, func(tx store.Tx) error {
		for i := range 200 {
			s := store.Send{AccountID: a.ID, ObjectID: "o" + strconv.Itoa(i), Status: store.StatusScheduled, SendDate: time.Unix(int64(i), 0)}
			if err := tx.InsertSend(ctx, &s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var result string
	if err := db.write.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&result); err != nil || result != "ok" {
		t.Errorf("integrity_check = %q, %v", result, err)
	}
	rows, err := db.write.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Error("foreign_key_check found violations")
	}
}

func TestInsertSendUnknownAccount(t *testing.T) {
	db, _ := newDB(t)
	err := db.Update(t.Context(), func(tx store.Tx) error {
		s := store.Send{AccountID: 999, ObjectID: "o", Status: store.StatusScheduled}
		return tx.InsertSend(t.Context(), &s)
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("InsertSend for a missing account = %v, want ErrNotFound", err)
	}
}

func TestPruneCursors(t *testing.T) {
	db, _ := newDB(t)
	ctx := t.Context()
	a := store.Account{Username: "acct"}
	if err := db.CreateAccount(ctx, &a); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	err := db.Update(ctx, func(tx store.Tx) error {
		for i, exp := range []time.Duration{-2 * time.Minute, -time.Minute, time.Minute} {
			c := store.Cursor{RequestID: string(rune('a' + i)), AccountID: a.ID, Expires: now.Add(exp)}
			if err := tx.SaveCursor(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := db.PruneCursors(ctx, now); err != nil || n != 2 {
		t.Errorf("PruneCursors = %d, %v; want 2", n, err)
	}
}

// TestQueryPlans keeps the hot lookups on their indexes: a full scan of
// sends would pass every functional test and still make large accounts slow.
func TestQueryPlans(t *testing.T) {
	db, _ := newDB(t)
	where, fargs, err := whereClause(&store.Cond{Field: store.FieldCustomerKey, Op: store.OpEquals, Values: []any{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, query string
		args        []any
		index       string
	}{
		{"by ID", `SELECT * FROM sends WHERE account_id = ? AND id = ?`, []any{1, 1}, "PRIMARY KEY"},
		{"by ObjectID", `SELECT * FROM sends WHERE account_id = ? AND object_id = ?`, []any{1, "o"}, "sends_account_object_id"},
		{"by CustomerKey", `SELECT * FROM sends WHERE account_id = ? AND customer_key = ?`, []any{1, "k"}, "sends_account_customer_key"},
		{"FindSends page", `SELECT * FROM sends WHERE account_id = ? AND id > ? AND (1) ORDER BY id LIMIT ?`, []any{1, 0, 10}, "sends_account_id"},
		{"FindSends by IDs", `SELECT * FROM sends WHERE +account_id = ? AND id > ? AND (id IN (?, ?, ?)) ORDER BY id`, []any{1, 0, 1, 2, 3}, "INTEGER PRIMARY KEY"},
		{"FindSends by CustomerKey", `SELECT * FROM sends WHERE account_id = ? AND id > ? AND (` + where + `) ORDER BY id`, append([]any{1, 0}, fargs...), "sends_account_customer_key"},
		{"due sends", `SELECT * FROM sends WHERE status = ? AND send_date <= ?`, []any{"Scheduled", 0}, "sends_status_send_date"},
		{"held sends: paused", countHeldSends, []any{1, 1, 0}, "USING COVERING INDEX sends_paused"},
		{"held sends: canceled", countHeldSends, []any{1, 1, 0}, "INDEX sends_canceled_held (account_id=? AND send_date>?)"},
		{"live nonces", `SELECT username, nonce, expires FROM nonce_log WHERE expires >= ?`, []any{0}, "nonce_log_expires"},
		{"prune nonces", `DELETE FROM nonce_log WHERE expires < ?`, []any{0}, "nonce_log_expires"},
		{"recent requests", `SELECT * FROM request_log ORDER BY received_at DESC, id DESC LIMIT 5`, nil, "request_log_received_at"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := db.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+c.query, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			joined := strings.Join(plan, " | ")
			if !strings.Contains(joined, c.index) || strings.Contains(joined, "TEMP B-TREE") {
				t.Errorf("plan %q: want a search using %s and no sort", joined, c.index)
			}
		})
	}
}

func TestWhereClausePlaceholdersOnly(t *testing.T) {
	hostile := "'); DROP TABLE sends; --"
	f := &store.Or{
		Left:  &store.Cond{Field: store.FieldEmailName, Op: store.OpLike, Values: []any{hostile}},
		Right: &store.Cond{Field: store.FieldStatus, Op: store.OpIn, Values: []any{hostile, "Paused"}},
	}
	where, args, err := whereClause(f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(where, "DROP") || strings.Contains(where, "Paused") {
		t.Errorf("a value reached the SQL text: %s", where)
	}
	if want := "(email_name LIKE ? OR status IN (?, ?))"; where != want {
		t.Errorf("where = %s, want %s", where, want)
	}
	if len(args) != 3 {
		t.Errorf("args = %v, want 3", args)
	}
	if _, _, err := whereClause(deep(store.MaxFilterDepth + 1)); err == nil {
		t.Error("a filter nested beyond store.MaxFilterDepth was accepted")
	}
	if _, _, err := whereClause(deep(store.MaxFilterDepth - 1)); err != nil {
		t.Errorf("a filter nested %d deep: %v", store.MaxFilterDepth-1, err)
	}
}

func deep(n int) store.Filter {
	var f store.Filter = &store.Cond{Field: store.FieldID, Op: store.OpGreaterThan, Values: []any{int64(0)}}
	for range n {
		f = &store.Or{Left: &store.Cond{Field: store.FieldEmailID, Op: store.OpEquals, Values: []any{int64(1)}}, Right: f}
	}
	return f
}

// TestWritersDoNotBusy runs writers through both Update and the store-level
// methods at once: all share the one write connection, so none may see
// SQLITE_BUSY.
func TestWritersDoNotBusy(t *testing.T) {
	db, _ := newDB(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				a := store.Account{Username: string(rune('a'+w)) + string(rune('0'+i))}
				if err := db.CreateAccount(ctx, &a); err != nil {
					errs <- err
					return
				}
				if err := db.LogRequest(ctx, store.RequestLog{RequestID: a.Username}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestUpdateWaitsForLockWithContext checks that a writer queued behind a
// long transaction gives up when its context ends instead of blocking.
func TestUpdateWaitsForLockWithContext(t *testing.T) {
	db, _ := newDB(t)
	holding, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- db.Update(context.Background(), func(store.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	defer func() {
		close(release)
		if err := <-done; err != nil {
			t.Errorf("holding Update: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := db.Update(ctx, func(store.Tx) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued Update = %v, want DeadlineExceeded", err)
	}
}

// TestNonceClock checks that UseNonce judges expiry at the now it is
// given, not by a clock of its own, so that --clock=manual governs replay
// detection too.
func TestNonceClock(t *testing.T) {
	start := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) // long before the wall clock
	c := clock.NewManual(start)
	db, err := Open(filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	expires := start.Add(5 * time.Minute)
	if err := db.UseNonce(ctx, "u", "n", expires, c.Now()); err != nil {
		t.Fatal(err)
	}
	// By the wall clock this nonce expired decades ago; by ours it is live.
	if err := db.UseNonce(ctx, "u", "n", expires, c.Now()); !errors.Is(err, store.ErrReplay) {
		t.Errorf("replay within the window = %v, want ErrReplay", err)
	}
	c.Advance(6 * time.Minute)
	if err := db.UseNonce(ctx, "u", "n", c.Now().Add(5*time.Minute), c.Now()); err != nil {
		t.Errorf("reuse after the manual clock passed expiry: %v", err)
	}
}

// TestKillNine kills (SIGKILL) a process in the middle of a stream of
// inserts and checks that every insert it had acknowledged is in the file.
// Power loss is covered by synchronous=FULL, which TestPragmas checks.
func TestKillNine(t *testing.T) {
	if path := os.Getenv("PARTNERD_KILL_NINE_DB"); path != "" {
		killNineChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "k.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillNine$")
	cmd.Env = append(os.Environ(), "PARTNERD_KILL_NINE_DB="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0
	lines := bufio.NewScanner(out)
	for acked < 50 && lines.Scan() {
		if n, err := strconv.Atoi(lines.Text()); err == nil {
			acked = n
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if acked < 50 {
		t.Fatalf("child acknowledged only %d inserts before stopping", acked)
	}

	db := openAt(t, path)
	a, err := db.AccountByUsername(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= acked; i++ {
		err := db.View(t.Context(), func(tx store.Tx) error {
			_, err := tx.SendByKey(t.Context(), a.ID, store.SendKey{CustomerKey: strconv.Itoa(i)})
			return err
		})
		if err != nil {
			t.Errorf("acknowledged insert %d lost: %v", i, err)
		}
	}
	var result string
	if err := db.write.QueryRow(`PRAGMA integrity_check`).Scan(&result); err != nil || result != "ok" {
		t.Errorf("integrity_check after kill = %q, %v", result, err)
	}
}

// killNineChild inserts sends until killed, printing the number of each
// one as soon as Update has returned nil for it.
func killNineChild(path string) {
	ctx := context.Background()
	db, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	a := store.Account{Username: "k"}
	if err := db.CreateAccount(ctx, &a); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := 1; ; i++ {
		err := db.Update(ctx, func(tx store.Tx) error {
			s := store.Send{AccountID: a.ID, ObjectID: "o" + strconv.Itoa(i), CustomerKey: strconv.Itoa(i), Status: store.StatusScheduled}
			return tx.InsertSend(ctx, &s)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(i) // os.Stdout is unbuffered: the ack leaves now
	}
}

// TestGroupCommitIsolatesFailures runs many concurrent Updates, some of
// which fail or panic, so that they share commits: each failed one must
// leave nothing behind and every successful one must be durable.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "group.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	acct := store.Account{Username: "g", ClientID: 1, PasswordHash: "x"}
	if err := db.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	const n = 300
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					results[i] = fmt.Errorf("panic: %v", p)
				}
			}()
			results[i] = db.Update(ctx, func(tx store.Tx) error {
				now := time.Now().UTC()
				s := &store.Send{AccountID: acct.ID, CustomerKey: fmt.Sprintf("k%d", i), ObjectID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
					EmailID: 1, ListIDs: []int64{1}, SendDate: now, Status: store.StatusScheduled, CreatedDate: now, ModifiedDate: now, StatusChangedAt: now}
				if err := tx.InsertSend(ctx, s); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return boom
				case 2:
					if i%2 == 0 {
						panic("in fn")
					}
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	want := map[string]bool{}
	for i, err := range results {
		switch {
		case i%3 == 1:
			if !errors.Is(err, boom) {
				t.Errorf("update %d: err %v, want boom", i, err)
			}
		case i%3 == 2 && i%2 == 0:
			if err == nil || !strings.Contains(err.Error(), "panic: in fn") {
				t.Errorf("update %d: %v, want the panic re-raised", i, err)
			}
		default:
			if err != nil {
				t.Errorf("update %d: %v", i, err)
			}
			want[fmt.Sprintf("k%d", i)] = true
		}
	}
	db.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got []store.Send
	if err := db.View(ctx, func(tx store.Tx) error {
		got, err = tx.FindSends(ctx, acct.ID, store.SendQuery{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d sends stored, want %d", len(got), len(want))
	}
	for _, s := range got {
		if !want[s.CustomerKey] {
			t.Errorf("send %s of a failed update was stored", s.CustomerKey)
		}
	}
}

// TestNonceMigration opens a store written before nonce_log existed: the
// nonces of the old table still refuse replays after the upgrade.
func TestNonceMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	// The database as partnerd at schema version 2 left it.
	old := openAtVersion(t, path, 2)
	now := time.Now()
	for _, r := range []struct {
		nonce   string
		expires time.Time
	}{{"live", now.Add(time.Hour)}, {"expired", now.Add(-time.Hour)}} {
		if _, err := old.Exec(`INSERT INTO nonces (username, nonce, expires) VALUES ('u', ?, ?)`, r.nonce, r.expires.UnixMicro()); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db := openAt(t, path)
	if err := db.UseNonce(t.Context(), "u", "live", now.Add(time.Hour), now); !errors.Is(err, store.ErrReplay) {
		t.Errorf("live nonce of the old table = %v, want ErrReplay", err)
	}
	if err := db.UseNonce(t.Context(), "u", "expired", now.Add(time.Hour), now); err != nil {
		t.Errorf("expired nonce of the old table: %v", err)
	}
}

// TestNonceMemoryShrinks checks that the in-memory nonce set drops what
// has expired without waiting for PruneNonces: a burst must not keep its
// memory for good.
func TestNonceMemoryShrinks(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	db, c := openManual(t, start)
	entries := func() (n int) {
		db.nonces.mu.Lock()
		defer db.nonces.mu.Unlock()
		for _, b := range db.nonces.buckets {
			n += b.Len()
		}
		return n
	}
	for i := range 1000 {
		if err := db.UseNonce(t.Context(), "u", fmt.Sprint("burst", i), start.Add(5*time.Minute+time.Duration(i)*time.Millisecond), c.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if n := entries(); n != 1000 {
		t.Fatalf("%d nonces in memory after the burst, want 1000", n)
	}
	c.Advance(10 * time.Minute)
	if err := db.UseNonce(t.Context(), "u", "later", c.Now().Add(5*time.Minute), c.Now()); err != nil {
		t.Fatal(err)
	}
	if n := entries(); n != 1 {
		t.Errorf("%d nonces in memory once the burst expired, want 1", n)
	}
	// The durable records are still there until PruneNonces.
	if n, err := db.PruneNonces(t.Context(), c.Now()); err != nil || n != 1000 {
		t.Errorf("PruneNonces = %d, %v; want the 1000 of the burst", n, err)
	}
}

// TestPruneRequestsInChunks prunes more exchanges than one chunk holds.
func TestPruneRequestsInChunks(t *testing.T) {
	db, _ := newDB(t)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const total = 2*pruneChunk + 1234
	batch := make([]store.RequestLog, 0, 1000)
	for i := range total {
		batch = append(batch, store.RequestLog{RequestID: fmt.Sprintf("r%06d", i), ReceivedAt: at.Add(time.Duration(i) * time.Millisecond)})
		if len(batch) == cap(batch) || i == total-1 {
			if err := db.LogRequests(t.Context(), batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	n, err := db.PruneRequests(t.Context(), time.Time{}, 1000)
	if err != nil || n != total-1000 {
		t.Fatalf("PruneRequests(keep 1000) = %d, %v; want %d", n, err, total-1000)
	}
	recent, err := db.RecentRequests(t.Context(), 2000)
	if err != nil || len(recent) != 1000 || recent[0].RequestID != fmt.Sprintf("r%06d", total-1) || recent[999].RequestID != fmt.Sprintf("r%06d", total-1000) {
		t.Fatalf("after pruning: %d exchanges, %v", len(recent), err)
	}
}

// TestNonceSetMemory bounds what a live nonce costs in memory: the
// six-minute window holds millions of them under sustained load, within
// the server's resident-memory budget.
func TestNonceSetMemory(t *testing.T) {
	const n = 1_000_000
	s := newNonceSet()
	expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s.mu.Lock()
	for i := range n {
		s.add(s.hash("bench", strconv.Itoa(i)), expires+int64(i)) // a burst: ~one bucket
	}
	s.mu.Unlock()
	runtime.GC()
	runtime.ReadMemStats(&after)
	perNonce := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.1f bytes per live nonce", perNonce)
	if perNonce > 24 { // a Go map takes ~38
		t.Errorf("%.1f bytes per live nonce, want at most 24", perNonce)
	}
	runtime.KeepAlive(s)
}

// TestNonceRefusedUntilBucketEnds pins the trade made for memory: a nonce
// is remembered until the end of its expiry bucket, never less than its
// own expiry, never more than a bucket longer.
func TestNonceRefusedUntilBucketEnds(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	db, c := openManual(t, start)
	expires := start.Add(5 * time.Minute)
	if err := db.UseNonce(t.Context(), "u", "n", expires, c.Now()); err != nil {
		t.Fatal(err)
	}
	c.Set(expires.Add(-time.Microsecond))
	if err := db.UseNonce(t.Context(), "u", "n", c.Now().Add(time.Minute), c.Now()); !errors.Is(err, store.ErrReplay) {
		t.Errorf("reuse just before expiry = %v, want ErrReplay", err)
	}
	c.Set(expires.Add(time.Duration(nonceBucket) * time.Microsecond))
	if err := db.UseNonce(t.Context(), "u", "n", c.Now().Add(time.Minute), c.Now()); err != nil {
		t.Errorf("reuse a bucket width after expiry: %v", err)
	}
}

func TestHashSet(t *testing.T) {
	var s hashSet
	if s.has(42) {
		t.Fatal("empty set has 42")
	}
	// 0 and 1 share a slot value; both must read as present once added.
	for _, h := range []uint64{0, 1, 1 << 63, 17, 17 + 16, 17 + 32} { // the last three probe one run
		s.add(h)
		s.add(h) // twice is once
		if !s.has(h) {
			t.Fatalf("added %d, not found", h)
		}
	}
	if s.Len() != 5 { // 0 and 1 are one entry
		t.Errorf("Len = %d, want 5", s.Len())
	}
	seen := map[uint64]bool{}
	for i := range 100_000 {
		h := uint64(i) * 0x9E3779B97F4A7C15
		s.add(h)
		seen[h] = true
	}
	for h := range seen {
		if !s.has(h) {
			t.Fatalf("lost %d after growing", h)
		}
	}
	for i := range 1000 {
		if h := uint64(i)*0x9E3779B97F4A7C15 + 1; !seen[h] && h > 1 && s.has(h) {
			t.Fatalf("has %d, never added", h)
		}
	}
}

// openManual opens a fresh store and a manual clock set to start, whose
// Now the test gives UseNonce; the store is closed when t ends.
func openManual(t *testing.T, start time.Time) (*DB, *clock.Manual) {
	t.Helper()
	c := clock.NewManual(start)
	db, err := Open(filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, c
}

// openAtVersion creates a store at path as partnerd at schema version v
// left it (migrations 1 to v applied), for the migration tests to fill
// with old rows; the caller closes it before opening the store for real.
func openAtVersion(t *testing.T, path string, v int) *sql.DB {
	t.Helper()
	old, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Close() })
	if _, err := old.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP) STRICT`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:v] {
		if _, err := old.Exec(m.sql); err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(`INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	return old
}
