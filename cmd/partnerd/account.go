package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
)

// newAccount builds an account with its password hashed and sealed.
func newAccount(username, password string, clientID int64, sealer *credential.Sealer) (store.Account, error) {
	if username == "" || password == "" {
		return store.Account{}, errors.New("--username and --password are required")
	}
	hash, err := credential.Hash(password)
	if err != nil {
		return store.Account{}, err
	}
	return store.Account{Username: username, ClientID: clientID, PasswordHash: hash, PasswordSealed: sealer.Seal(password)}, nil
}

func runAccount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("account: say add, passwd, list, disable or enable")
	}
	sub, args := args[0], args[1:]
	sf := newStoreCommand("account "+sub, stderr)
	username := sf.String("username", "", "account username")
	password := sf.String("password", "", "account password")
	clientID := sf.Int64("client-id", 0, "client (MID) ID reported as Client.ID; default: the account's ID + 10000000")
	db, err := sf.parseAndOpen(ctx, args, nil)
	if err != nil {
		return err
	}
	defer db.Close()

	switch sub {
	case "add":
		sealer, err := sf.sealer()
		if err != nil {
			return err
		}
		a, err := newAccount(*username, *password, *clientID, sealer)
		if err != nil {
			return err
		}
		if err := db.CreateAccount(ctx, &a); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("account %q already exists (use account passwd to change its password)", *username)
			}
			return err
		}
		if a.ClientID == 0 {
			a.ClientID = 10000000 + a.ID
			if err := db.UpdateAccount(ctx, a); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "account %s added (ID %d, client ID %d)\n", a.Username, a.ID, a.ClientID)
	case "passwd":
		sealer, err := sf.sealer()
		if err != nil {
			return err
		}
		a, err := findAccount(ctx, db, *username)
		if err != nil {
			return err
		}
		fresh, err := newAccount(a.Username, *password, a.ClientID, sealer)
		if err != nil {
			return err
		}
		a.PasswordHash, a.PasswordSealed = fresh.PasswordHash, fresh.PasswordSealed
		if err := db.UpdateAccount(ctx, a); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s changed; it takes effect on the next request\n", a.Username)
	case "disable", "enable":
		a, err := findAccount(ctx, db, *username)
		if err != nil {
			return err
		}
		a.Disabled = sub == "disable"
		if err := db.UpdateAccount(ctx, a); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "account %s %sd\n", a.Username, sub)
	case "list":
		accts, err := db.ListAccounts(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tCLIENT ID\tSTATUS\tCREATED")
		for _, a := range accts {
			status := "active"
			if a.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\n", a.ID, a.Username, a.ClientID, status, a.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	default:
		return fmt.Errorf("account: unknown subcommand %q (add, passwd, list, disable, enable)", sub)
	}
	return nil
}

// accountNames maps every account's ID to its username, for the tables
// that name the account of a row.
func accountNames(ctx context.Context, st store.Store) (map[int64]string, error) {
	accts, err := st.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(accts))
	for _, a := range accts {
		names[a.ID] = a.Username
	}
	return names, nil
}

func findAccount(ctx context.Context, st store.Store, username string) (store.Account, error) {
	if username == "" {
		return store.Account{}, errors.New("--username is required")
	}
	a, err := st.AccountByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return a, fmt.Errorf("no account %q", username)
	}
	return a, err
}
