package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/partnerd/partnerd/auth"
)

// runClient manages an account's token clients (installed-package
// credentials): the client id and secret that Marketing Cloud SDKs trade at
// /v2/token or /v1/requestToken for an access token.
func runClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var scopeList, id *string
	var mid *int64
	var scopes []string // nil: the default scopes
	cmd := credentialCommand{name: "client", subs: []string{"add", "list", "revoke"}, whom: "the clients"}
	sub, db, acct, err := cmd.start(ctx, args, stderr, func(fs *flag.FlagSet) func(string) error {
		scopeList = fs.String("scopes", "", "add: comma- or space-separated scopes (default "+strings.Join(auth.DefaultClientScopes, ",")+")")
		mid = fs.Int64("mid", 0, "add: the account id (MID) its tokens are for (default: the account's client ID)")
		id = fs.String("id", "", "revoke: the client ID")
		return func(sub string) error {
			if flagSet(fs, "scopes") {
				var err error
				if scopes, err = auth.ParseScopes(strings.ReplaceAll(*scopeList, ",", " ")); err != nil {
					return fmt.Errorf("--scopes: %w (lower-case letters, digits and _)", err)
				}
				if len(scopes) == 0 {
					return errors.New("--scopes names no scope: leave it out for the default scopes")
				}
			}
			if *mid < 0 {
				return errors.New("--mid must be positive")
			}
			if sub == "revoke" && *id == "" {
				return errors.New("--id is required")
			}
			return nil
		}
	})
	if err != nil {
		return err
	}
	defer db.Close()
	tokens := &auth.Tokens{Store: db}

	switch sub {
	case "add":
		c, secret, err := tokens.CreateClient(ctx, acct.ID, *mid, scopes)
		if err != nil {
			return err
		}
		// The id and secret alone on stdout, for scripts; the rest on stderr.
		fmt.Fprintf(stdout, "client_id=%s\nclient_secret=%s\n", c.ID, secret)
		fmt.Fprintf(stderr, "Token client %s created for %s (account id %d, scopes %s).\n"+
			"This is the only time its secret is shown: partnerd keeps only a hash of it.\n",
			c.ID, acct.Username, c.MID, strings.Join(c.Scopes, " "))
	case "list":
		cs, err := tokens.ListClients(ctx, acct.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT ID\tACCOUNT ID\tCREATED\tSCOPES")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", c.ID, c.MID, c.Created.UTC().Format(time.RFC3339), strings.Join(c.Scopes, " "))
		}
		return tw.Flush()
	case "revoke":
		err := tokens.RevokeClient(ctx, acct.ID, *id)
		if errors.Is(err, auth.ErrClientNotFound) {
			return fmt.Errorf("account %s has no token client %q (revoked already, or never made)", acct.Username, *id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token client %s of %s revoked: its tokens are refused from their next use\n", *id, acct.Username)
	}
	return nil
}
