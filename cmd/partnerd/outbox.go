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
	cmd := newStoreCommand("outbox", stderr)
	last := cmd.Int("last", 20, "how many of the newest entries to list; 0 for all")
	account := cmd.String("account", "", "only this account's sends")
	db, err := cmd.parseAndOpen(ctx, args, func() error {
		if *last < 0 {
			return errors.New("--last must not be negative")
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer db.Close()

	names, err := accountNames(ctx, db)
	if err != nil {
		return err
	}
	q := store.OutboxQuery{Last: *last}
	if *account != "" {
		a, err := findAccount(ctx, db, *account)
		if err != nil {
			return err
		}
		q.AccountID = a.ID
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
