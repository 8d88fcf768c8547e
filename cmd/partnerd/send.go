package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/partnerd/partnerd/store"
)

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return errors.New("send: say list")
	}
	cmd := newStoreCommand("send list", stderr)
	account := cmd.String("account", "", "only this account's sends")
	status := cmd.String("status", "", "only sends in this status (Scheduled, Paused, Canceled …)")
	db, err := cmd.parseAndOpen(ctx, args[1:], nil)
	if err != nil {
		return err
	}
	defer db.Close()

	var accts []store.Account
	if *account != "" {
		a, err := findAccount(ctx, db, *account)
		if err != nil {
			return err
		}
		accts = []store.Account{a}
	} else if accts, err = db.ListAccounts(ctx); err != nil {
		return err
	}
	var filter store.Filter
	if *status != "" {
		filter = &store.Cond{Field: store.FieldStatus, Op: store.OpEquals, Values: []any{*status}}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tACCOUNT\tSTATUS\tSEND DATE\tSENT DATE\tEMAIL\tLISTS\tOBJECT ID\tCUSTOMER KEY")
	for _, a := range accts {
		var sends []store.Send
		if err := db.View(ctx, func(tx store.Tx) error {
			sends, err = tx.FindSends(ctx, a.ID, store.SendQuery{Filter: filter})
			return err
		}); err != nil {
			return err
		}
		for _, s := range sends {
			sent := "-"
			if !s.SentDate.IsZero() {
				sent = s.SentDate.UTC().Format(time.RFC3339)
			}
			// Keys are chosen by clients: every text cell is escaped (see
			// cell), so none can forge a row or a column.
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%v\t%s\t%s\n", s.ID, cell(a.Username), cell(string(s.Status)),
				s.SendDate.UTC().Format(time.RFC3339), sent, s.EmailID, s.ListIDs, cell(s.ObjectID), cell(s.CustomerKey))
		}
	}
	return tw.Flush()
}
