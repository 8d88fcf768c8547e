package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/partnerd/partnerd/store"
)

// runOutbox lists the outbox: every dispatched send, newest first, with
// what went out and to whom.
func runOutbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storeFlags
	fs := newFlagSet("outbox", stderr)
	sf.register(fs)
	last := fs.Int("last", 20, "how many of the newest entries to list; 0 for all")
	account := fs.String("account", "", "only this account's sends")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *last < 0 {
		return errors.New("--last must not be negative")
	}
	db, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()

	accts, err := db.ListAccounts(ctx)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	q := store.OutboxQuery{Last: *last}
	for _, a := range accts {
		names[a.ID] = a.Username
		if a.Username == *account {
			q.AccountID = a.ID
		}
	}
	if *account != "" && q.AccountID == 0 {
		return fmt.Errorf("no account %q", *account)
	}
	entries, err := db.Outbox(ctx, q)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEND\tACCOUNT\tDELIVERED\tVIA\tSENT\tATTEMPT\tSUBJECT\tRECIPIENTS")
	for _, e := range entries {
		to := strings.Join(e.Recipients, ",")
		if len(to) > 60 {
			to = to[:57] + "..."
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", e.ID, e.SendID, orDash(names[e.AccountID]),
			e.DeliveredAt.UTC().Format(time.RFC3339), e.Transport, e.NumberSent, e.Attempt, cell(e.Subject), cell(to))
	}
	return tw.Flush()
}
