package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
)

// runUser manages an account's SOAP users, each on its own: rotating or
// disabling one refuses its next request and leaves the account's other
// credentials working — how a runaway integration is stopped without
// stopping everyone.
func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("user: say add, list, passwd, disable, enable or delete")
	}
	sub, args := args[0], args[1:]
	sf := newStoreCommand("user "+sub, stderr)
	account := sf.String("account", "", "the account the user belongs to")
	username := sf.String("username", "", "the user's username (unique across the server)")
	password := sf.String("password", "", "add, passwd: the password")
	db, err := sf.parseAndOpen(ctx, args, func() error {
		switch sub {
		case "add", "passwd", "disable", "enable", "delete", "list":
		default:
			return fmt.Errorf("user: unknown subcommand %q (add, list, passwd, disable, enable, delete)", sub)
		}
		if *account == "" {
			return errors.New("--account is required")
		}
		if sub != "list" && *username == "" {
			return errors.New("--username is required")
		}
		if (sub == "add" || sub == "passwd") && *password == "" {
			return errors.New("--password is required")
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := findAccount(ctx, db, *account)
	if err != nil {
		return fmt.Errorf("--account: %w", err)
	}

	switch sub {
	case "add":
		sealer, err := sf.sealer()
		if err != nil {
			return err
		}
		hash, err := credential.Hash(*password)
		if err != nil {
			return err
		}
		now := clock.System{}.Now()
		u := store.User{AccountID: a.ID, Username: *username, PasswordHash: hash, PasswordSealed: sealer.Seal(*password),
			CreatedAt: now, UpdatedAt: now}
		if err := db.CreateUser(ctx, &u); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("user %q already exists (usernames are unique across the server)", *username)
			}
			return err
		}
		recordAction(ctx, db, stderr, "user.add", a.ID, "user:"+u.Username, "")
		fmt.Fprintf(stdout, "user %s added to account %s (user ID %d)\n", u.Username, a.Username, u.ID)
	case "list":
		users, err := db.ListUsers(ctx, a.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tSTATUS\tCREATED\tUPDATED")
		for _, u := range users {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", u.ID, cell(u.Username), status(u.Disabled), orDash(formatTime(u.CreatedAt)), orDash(formatTime(u.UpdatedAt)))
		}
		return tw.Flush()
	default:
		return changeUser(ctx, db, sf, a, *username, sub, *password, stdout, stderr)
	}
	return nil
}

// changeUser rotates (passwd), disables, enables or deletes user username
// of account a, and records it as an operator action.
func changeUser(ctx context.Context, db store.Store, sf *storeCommand, a store.Account, username, sub, password string, stdout, stderr io.Writer) error {
	u, owner, err := db.UserByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) || (err == nil && owner.ID != a.ID) {
		// Another account's user is not named: the operator asked about
		// this account.
		return fmt.Errorf("account %s has no user %q", a.Username, username)
	}
	if err != nil {
		return err
	}
	u.UpdatedAt = clock.System{}.Now()
	switch sub {
	case "passwd":
		if password == "" {
			return errors.New("--password is required")
		}
		sealer, err := sf.sealer()
		if err != nil {
			return err
		}
		if u.PasswordHash, err = credential.Hash(password); err != nil {
			return err
		}
		u.PasswordSealed = sealer.Seal(password)
	case "disable", "enable":
		u.Disabled = sub == "disable"
	case "delete":
		if err := db.DeleteUser(ctx, a.ID, u.ID); err != nil {
			return err
		}
		recordAction(ctx, db, stderr, "user.delete", a.ID, "user:"+u.Username, "")
		fmt.Fprintf(stdout, "user %s of account %s deleted; the account's sends and other credentials are kept\n", u.Username, a.Username)
		return nil
	}
	if err := db.UpdateUser(ctx, u); err != nil {
		return err
	}
	recordAction(ctx, db, stderr, "user."+sub, a.ID, "user:"+u.Username, "")
	switch sub {
	case "passwd":
		fmt.Fprintf(stdout, "password of %s changed; it takes effect on the next request\n", u.Username)
	default:
		fmt.Fprintf(stdout, "user %s of account %s %sd; the account's other credentials are not affected\n", u.Username, a.Username, sub)
	}
	return nil
}
