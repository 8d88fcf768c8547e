package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/partnerd/partnerd/store"
)

// credentialCommand is the shape `partnerd apikey` and `partnerd client`
// share: SUB --account A [flags], the flags read and checked before the
// store is opened (so that a typo costs nothing), then the account found.
type credentialCommand struct {
	name string   // the command: "apikey"
	subs []string // its subcommands
	whom string   // what --account owns, for its help: "the keys"
}

// start parses args as SUB and its flags — addFlags registers the
// command's own and returns their check, run with SUB once they are read —
// opens the store and finds the account. The caller closes db.
func (c credentialCommand) start(ctx context.Context, args []string, stderr io.Writer,
	addFlags func(*flag.FlagSet) func(sub string) error) (sub string, db store.Store, acct store.Account, err error) {
	say := strings.Join(c.subs, ", ")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		last := len(c.subs) - 1
		return "", nil, acct, fmt.Errorf("%s: say %s or %s", c.name, strings.Join(c.subs[:last], ", "), c.subs[last])
	}
	sub, args = args[0], args[1:]
	var sf storeFlags
	fs := newFlagSet(c.name+" "+sub, stderr)
	sf.register(fs)
	account := fs.String("account", "", "the account (username) "+c.whom+" belong to")
	check := addFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return "", nil, acct, err
	}
	if !slices.Contains(c.subs, sub) {
		return "", nil, acct, fmt.Errorf("%s: unknown subcommand %q (%s)", c.name, sub, say)
	}
	if err := check(sub); err != nil {
		return "", nil, acct, err
	}
	if *account == "" {
		return "", nil, acct, errors.New("--account is required")
	}
	if db, err = sf.open(ctx); err != nil {
		return "", nil, acct, err
	}
	if acct, err = findAccount(ctx, db, *account); err != nil {
		db.Close()
		return "", nil, acct, err
	}
	return sub, db, acct, nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
