package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
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

// runAccount manages accounts, the tenants that own sends: add (with a
// user of the same name when given a password), passwd (of that user),
// list, show, disable and enable (every credential of the account at
// once).
func runAccount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("account: say add, passwd, list, show, disable or enable")
	}
	sub, args := args[0], args[1:]
	// "account show acme --db …": the account may come first, unflagged.
	var positional string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		positional, args = args[0], args[1:]
	}
	sf := newStoreCommand("account "+sub, stderr)
	username := sf.String("username", "", "account name; add and passwd: also the username of its own SOAP user")
	accountName := sf.String("account", "", "account name (the same as --username)")
	password := sf.String("password", "", "the password of the account's own user (add: leave out to add the account without a user)")
	clientID := sf.Int64("client-id", 0, "client (MID) ID reported as Client.ID; default: the account's ID + 10000000")
	minutes := sf.String("minutes", "5,60", "show: count each credential's requests over these last minutes (comma-separated)")
	db, err := sf.parseAndOpen(ctx, args, func() error {
		switch {
		case positional != "" && (*username != "" || *accountName != ""):
			return fmt.Errorf("the account is given twice (%q and a flag)", positional)
		case *username != "" && *accountName != "" && *username != *accountName:
			return errors.New("--username and --account name different accounts")
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer db.Close()
	name := *username + positional
	if name == "" {
		name = *accountName
	}

	switch sub {
	case "add":
		var a store.Account
		if *password == "" && flagSet(sf.FlagSet, "account") {
			// An account alone: its users come with "user add".
			a = store.Account{Username: name, ClientID: *clientID}
		} else {
			sealer, err := sf.sealer()
			if err != nil {
				return err
			}
			if a, err = newAccount(name, *password, *clientID, sealer); err != nil {
				return err
			}
		}
		if a.Username == "" {
			return errors.New("--account (or --username and --password) is required")
		}
		now := clock.System{}.Now()
		a.CreatedAt, a.UpdatedAt = now, now
		if err := db.CreateAccount(ctx, &a); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("account or user %q already exists (usernames are unique across the server; use account passwd or user passwd to change a password)", name)
			}
			return err
		}
		if a.ClientID == 0 {
			a.ClientID = 10000000 + a.ID
			if err := db.UpdateAccount(ctx, a); err != nil {
				return err
			}
		}
		credential := ""
		if a.PasswordHash != "" {
			credential = "user:" + a.Username
		}
		recordAction(ctx, db, stderr, "account.add", a.ID, credential, "")
		fmt.Fprintf(stdout, "account %s added (ID %d, client ID %d)\n", a.Username, a.ID, a.ClientID)
	case "passwd":
		// The account's own user, as before accounts had several.
		a, err := findAccount(ctx, db, name)
		if err != nil {
			return err
		}
		return changeUser(ctx, db, sf, a, name, "passwd", *password, stdout, stderr)
	case "disable", "enable":
		a, err := findAccount(ctx, db, name)
		if err != nil {
			return err
		}
		a.Disabled = sub == "disable"
		a.UpdatedAt = clock.System{}.Now()
		if err := db.UpdateAccount(ctx, a); err != nil {
			return err
		}
		recordAction(ctx, db, stderr, "account."+sub, a.ID, "", "")
		fmt.Fprintf(stdout, "account %s %sd: every credential of it is %s from the next request\n", a.Username, sub,
			map[bool]string{true: "refused", false: "accepted"}[a.Disabled])
	case "list":
		accts, err := db.ListAccounts(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tCLIENT ID\tSTATUS\tCREATED\tUSERS")
		for _, a := range accts {
			users, err := db.ListUsers(ctx, a.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%d\n", a.ID, cell(a.Username), a.ClientID, status(a.Disabled), a.CreatedAt.UTC().Format(time.RFC3339), len(users))
		}
		return tw.Flush()
	case "show":
		windows, err := parseMinutes(*minutes)
		if err != nil {
			return err
		}
		a, err := findAccount(ctx, db, name)
		if err != nil {
			return err
		}
		return showAccount(ctx, db, a, windows, stdout)
	default:
		return fmt.Errorf("account: unknown subcommand %q (add, passwd, list, show, disable, enable)", sub)
	}
	return nil
}

func status(disabled bool) string {
	if disabled {
		return "disabled"
	}
	return "active"
}

// parseMinutes reads "5,60".
func parseMinutes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--minutes: %q is not a positive number of minutes", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// showAccount prints an account, its credentials and how many requests
// each made over the last minutes: what an operator reads to find the
// credential of a runaway script before rotating or disabling it.
func showAccount(ctx context.Context, db store.Store, a store.Account, windows []int, stdout io.Writer) error {
	users, err := db.ListUsers(ctx, a.ID)
	if err != nil {
		return err
	}
	keys, err := db.ListAPIKeys(ctx, a.ID)
	if err != nil {
		return err
	}
	clients, err := db.ListTokenClients(ctx, a.ID)
	if err != nil {
		return err
	}
	now := clock.System{}.Now()
	counts := make([]map[string]int64, len(windows))
	seen := map[string]bool{}
	var extra []string // credentials with requests that are no longer listed (deleted, revoked)
	for i, m := range windows {
		cs, err := db.CountRequestsByCredential(ctx, a.ID, now.Add(-time.Duration(m)*time.Minute))
		if err != nil {
			return err
		}
		counts[i] = map[string]int64{}
		for _, c := range cs {
			k := c.Kind + ":" + c.Name
			counts[i][k] = c.Count
			if !seen[k] {
				seen[k] = true
				extra = append(extra, k)
			}
		}
	}
	fmt.Fprintf(stdout, "Account:    %s (ID %d)\nClient ID:  %d\nStatus:     %s\nCreated:    %s\n\n",
		cell(a.Username), a.ID, a.ClientID, status(a.Disabled), a.CreatedAt.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	head := "KIND\tCREDENTIAL\tSTATUS\tCREATED"
	for _, m := range windows {
		head += fmt.Sprintf("\tREQUESTS %dm", m)
	}
	fmt.Fprintln(tw, head)
	listed := map[string]bool{}
	row := func(kind, name, state string, created time.Time) {
		k := kind + ":" + name
		listed[k] = true
		line := fmt.Sprintf("%s\t%s\t%s\t%s", kind, cell(name), state, orDash(formatTime(created)))
		for i := range windows {
			line += fmt.Sprintf("\t%d", counts[i][k])
		}
		fmt.Fprintln(tw, line)
	}
	for _, u := range users {
		row("user", u.Username, status(u.Disabled), u.CreatedAt)
	}
	for _, k := range keys {
		row("apikey", k.ID, "active", k.Created)
	}
	for _, c := range clients {
		row(auth.KindClient, c.ID, "active", c.Created)
	}
	for _, k := range extra {
		if listed[k] {
			continue
		}
		kind, name, _ := strings.Cut(k, ":")
		row(orDash(kind), name, "gone", time.Time{})
	}
	return tw.Flush()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
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

// operatorActor is who runs a command (the OS user), for the record.
func operatorActor() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// recordAction records an operator action on an account or one of its
// credentials. The change itself is made: a failure to record it is
// reported, not returned.
func recordAction(ctx context.Context, db store.Store, stderr io.Writer, action string, accountID int64, credential, detail string) {
	act := store.OperatorAction{Action: action, AccountID: accountID, Actor: operatorActor(), Detail: detail,
		At: clock.System{}.Now(), Credential: credential}
	if err := db.RecordOperatorAction(ctx, &act); err != nil {
		fmt.Fprintf(stderr, "partnerd: the change is made, but recording it as an operator action failed: %v\n", err)
	}
}
