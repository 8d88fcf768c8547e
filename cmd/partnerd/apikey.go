package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/partnerd/partnerd/auth"
)

// runAPIKey manages an account's SendGrid API keys from the command line:
// what POST, GET and DELETE /v3/api_keys do over REST, for an operator (or
// a runaway script's owner) at the server's console.
func runAPIKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var name, scopeList, id *string
	var scopes []string // nil: full access
	cmd := credentialCommand{name: "apikey", subs: []string{"create", "list", "revoke"}, whom: "the keys"}
	sub, db, acct, err := cmd.start(ctx, args, stderr, func(fs *flag.FlagSet) func(string) error {
		name = fs.String("name", "", "create: the key's name")
		scopeList = fs.String("scopes", "", "create: comma-separated scopes; leave out for full access ("+strings.Join(auth.Scopes(), ",")+")")
		id = fs.String("id", "", "revoke: the key's ID (the middle part of SG.<id>.<secret>)")
		return func(sub string) error {
			if flagSet(fs, "scopes") {
				for s := range strings.SplitSeq(*scopeList, ",") {
					if s = strings.TrimSpace(s); s != "" {
						scopes = append(scopes, s)
					}
				}
				if len(scopes) == 0 {
					return errors.New("--scopes names no scope: leave it out for full access")
				}
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
	keys := &auth.Keys{Store: db}

	switch sub {
	case "create":
		k, token, err := keys.Create(ctx, acct.ID, *name, scopes)
		switch {
		case errors.Is(err, auth.ErrKeyName):
			return fmt.Errorf("--name: %w (at most %d characters)", err, auth.MaxKeyNameLength)
		case errors.Is(err, auth.ErrUnknownScope):
			return fmt.Errorf("--scopes: %w; known scopes: %s", err, strings.Join(auth.Scopes(), ", "))
		case errors.Is(err, auth.ErrTooManyKeys):
			return fmt.Errorf("account %s has %d API keys already: revoke one first", acct.Username, auth.MaxKeysPerAccount)
		case err != nil:
			return err
		}
		// The token alone on stdout, for scripts; the rest on stderr.
		fmt.Fprintln(stdout, token)
		fmt.Fprintf(stderr, "API key %s (%q) created for %s with %s.\n"+
			"This is the only time its secret is shown: partnerd keeps only a hash of it.\n",
			k.ID, k.Name, acct.Username, describeScopes(k.Scopes))
	case "list":
		ks, err := keys.List(ctx, acct.ID, 0)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tSCOPES")
		for _, k := range ks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Created.UTC().Format(time.RFC3339), describeScopes(k.Scopes))
		}
		return tw.Flush()
	case "revoke":
		err := keys.Revoke(ctx, acct.ID, *id)
		if errors.Is(err, auth.ErrKeyNotFound) {
			return fmt.Errorf("account %s has no API key %q (revoked already, or never made)", acct.Username, *id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "API key %s of %s revoked: its next request is refused\n", *id, acct.Username)
	}
	return nil
}

// describeScopes shortens the full list to what it means.
func describeScopes(scopes []string) string {
	switch {
	case slices.Equal(scopes, auth.Scopes()):
		return "full access"
	case len(scopes) == 0:
		return "no scopes"
	}
	return strings.Join(scopes, ",")
}
