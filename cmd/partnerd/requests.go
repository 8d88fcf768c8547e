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

// runRequests shows the request log: a table of the last N exchanges, or one
// exchange in full (both envelopes) with --id.
func runRequests(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storeFlags
	fs := newFlagSet("requests", stderr)
	sf.register(fs)
	last := fs.Int("last", 20, "how many of the newest exchanges to list")
	id := fs.String("id", "", "show this RequestID's request and response envelopes")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *last <= 0 {
		return errors.New("--last must be positive")
	}
	db, err := sf.open()
	if err != nil {
		return err
	}
	defer db.Close()

	if *id != "" {
		e, err := db.RequestByID(ctx, *id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no request %s in the log", *id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "RequestID:  %s\nReceived:   %s\nDuration:   %s\nAccount:    %s\nOperation:  %s\nStatus:     %s (HTTP %d)\n",
			e.RequestID, e.ReceivedAt.UTC().Format(time.RFC3339Nano), e.Duration, e.Username, e.Operation, e.Status, e.HTTPStatus)
		if e.Detail != "" {
			fmt.Fprintf(stdout, "Detail:     %s\n", e.Detail)
		}
		fmt.Fprintf(stdout, "\n--- request (secrets masked) ---\n%s\n\n--- response ---\n%s\n", e.Request, e.Response)
		return nil
	}
	entries, err := db.RecentRequests(ctx, *last)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVED\tREQUEST ID\tACCOUNT\tOPERATION\tSTATUS\tHTTP\tDURATION\tDETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ReceivedAt.UTC().Format(time.RFC3339), e.RequestID,
			orDash(e.Username), orDash(e.Operation), e.Status, e.HTTPStatus, e.Duration.Round(time.Microsecond), e.Detail)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
