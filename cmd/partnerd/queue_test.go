package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store"
)

// prepareDueSends creates a store (the backend PARTNERD_TEST_STORE picks,
// a SQLite file named file by default) with one account and n sends due a
// minute ago, each with one recipient, and closes it: it answers the
// store's name, for the binary's --db.
func prepareDueSends(t *testing.T, file string, n int) (store.Account, string) {
	t.Helper()
	db, name := testrig.OpenNamed(t, testrig.File(file))
	defer db.Close()
	acct := store.Account{Username: "crash", ClientID: 1}
	if err := db.CreateAccount(t.Context(), &acct); err != nil {
		t.Fatal(err)
	}
	due := time.Now().UTC().Add(-time.Minute)
	for done := 0; done < n; {
		err := db.Update(t.Context(), func(tx store.Tx) error {
			for i := 0; i < 1000 && done < n; i, done = i+1, done+1 {
				s := &store.Send{AccountID: acct.ID, ObjectID: fmt.Sprintf("00000000-0000-4000-8000-%012d", done),
					EmailID: 1, ListIDs: []int64{2}, SendDate: due, Status: store.StatusScheduled, CreatedDate: due, ModifiedDate: due}
				if err := tx.InsertSend(t.Context(), s); err != nil {
					return err
				}
				c := store.SendContent{Subject: "s", Recipients: []store.Recipient{{Address: fmt.Sprintf("r%d@example.com", done)}}}
				if err := tx.SetSendContent(t.Context(), acct.ID, s.ID, c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return acct, name
}

// observer reads the database of a running (or killed) server, the way a
// second process would: query-only, so it never holds the write lock.
func observer(t *testing.T, path string) *sql.DB {
	t.Helper()
	q := url.Values{"_query_only": {"on"}, "_busy_timeout": {"5000"}}
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestCrashDuringDispatch builds the real binary, starts it on a store
// holding N due sends, kills it with SIGKILL in the middle of dispatch —
// several times — restarts it, and counts: every send delivered exactly
// once in the outbox, none lost, none doubled. N is 2,000 (CI-sized), or
// PARTNERD_CRASH_SENDS (scripts/crash-dispatch.sh runs 10,000).
func TestCrashDuringDispatch(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the real binary through several crashes; skipped with -short")
	}
	n := 2000
	if v := os.Getenv("PARTNERD_CRASH_SENDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 10 {
			t.Fatalf("PARTNERD_CRASH_SENDS=%q: want a number >= 10", v)
		}
	}
	if testrig.Backend(t) != "sqlite" {
		t.Skip("watches the SQLite file of the server it kills")
	}
	_, name := prepareDueSends(t, "crash.db", n)
	path := strings.TrimPrefix(name, "sqlite:")
	obs := observer(t, path)
	// Small batches so that dispatch takes long enough to be interrupted;
	// a short lease so that sends a crash left Sending are taken again
	// soon after the restart.
	// --dispatch-test-delay holds each claimed send a moment, so that
	// most kills land between a batch's claim and its completion.
	args := []string{"--dispatch-batch", "20", "--dispatch-lease", "1s", "--dispatch-test-delay", "200us", "--demo-account=false"}

	start := time.Now()
	var kills []string
	for _, frac := range []float64{0, 0.3, 0.6} {
		threshold := int(frac * float64(n))
		srv := startServer(t, path, args...)
		deadline := time.Now().Add(60 * time.Second)
		for {
			// Kill once past the threshold and while a batch is claimed
			// but not completed: the window a crash must not lose.
			done := count(t, obs, `SELECT count(*) FROM outbox`)
			if done > threshold && count(t, obs, `SELECT count(*) FROM sends WHERE status = 'Sending'`) > 0 || done >= n || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		srv.cmd.Process.Kill() // SIGKILL: no shutdown, no last commit
		<-srv.done
		done := count(t, obs, `SELECT count(*) FROM outbox`)
		sending := count(t, obs, `SELECT count(*) FROM sends WHERE status = 'Sending'`)
		kills = append(kills, fmt.Sprintf("killed at %d/%d delivered with %d Sending", done, n, sending))
		if done >= n {
			t.Logf("dispatch finished before the kill at %.0f%%; later crashes still count", frac*100)
		}
	}

	// The last start runs to the end.
	srv := startServer(t, path, args...)
	deadline := time.Now().Add(120 * time.Second)
	for count(t, obs, `SELECT count(*) FROM sends WHERE status IN ('Scheduled', 'Sending')`) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sends still pending after 2 minutes: %d in the outbox", count(t, obs, `SELECT count(*) FROM outbox`))
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	srv.stop(t)

	checks := []struct {
		what string
		q    string
		want int
	}{
		{"outbox entries", `SELECT count(*) FROM outbox`, n},
		{"distinct sends in the outbox", `SELECT count(DISTINCT send_id) FROM outbox`, n},
		{"Complete sends", `SELECT count(*) FROM sends WHERE status = 'Complete'`, n},
		{"Complete sends without an outbox entry", `SELECT count(*) FROM sends s WHERE status = 'Complete' AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.send_id = s.id)`, 0},
		{"outbox entries whose send is not Complete", `SELECT count(*) FROM outbox o JOIN sends s ON s.id = o.send_id WHERE s.status <> 'Complete'`, 0},
		{"outbox entries with the wrong NumberSent", `SELECT count(*) FROM outbox WHERE number_sent <> 1`, 0},
	}
	for _, c := range checks {
		if got := count(t, obs, c.q); got != c.want {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
	recovered := count(t, obs, `SELECT count(*) FROM outbox WHERE attempt > 1`)
	maxAttempt := count(t, obs, `SELECT max(attempt) FROM outbox`)
	t.Logf("%d sends, %s; restarted %d times; %d sends re-claimed after a crash left them Sending (at most %d claims of one send); all delivered exactly once in %v",
		n, strings.Join(kills, "; "), len(kills), recovered, maxAttempt, elapsed.Round(time.Millisecond))
}

func TestQueueFlushCommand(t *testing.T) {
	acct, path := prepareDueSends(t, "flush.db", 5)
	if out := partnerd(t, path, "account", "add", "--username", "other", "--password", "pw"); !strings.Contains(out, "added") {
		t.Fatal(out)
	}
	out := partnerd(t, path, "queue", "flush", "--account", acct.Username, "--reason", "runaway script")
	if !strings.Contains(out, "flushed 5 pending send(s) of crash") {
		t.Errorf("queue flush: %q", out)
	}
	if out := partnerd(t, path, "queue", "flush", "--account", acct.Username); !strings.Contains(out, "flushed 0 pending") {
		t.Errorf("second flush: %q", out)
	}
	out = partnerd(t, path, "queue", "actions")
	if !strings.Contains(out, "flush") || !strings.Contains(out, "runaway script") || !strings.Contains(out, "crash") {
		t.Errorf("queue actions:\n%s", out)
	}
	if out := partnerd(t, path, "send", "list", "--status", "Canceled"); strings.Count(out, "Canceled") != 5 {
		t.Errorf("send list after flush:\n%s", out)
	}
	// An unknown account is an error, and nothing is recorded.
	cmd := exec.Command(binary, "queue", "flush", "--account", "nobody")
	cmd.Env = append(os.Environ(), "PARTNERD_DB="+path)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), `no account "nobody"`) {
		t.Errorf("flush of an unknown account: %v %s", err, out)
	}
}
