package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/store"
)

// runList manages the recipient lists legacy campaigns (by ID) and Single
// Sends (by UUID) are sent to, until the REST face has list endpoints:
//
//	partnerd list create --account U --name N [--emails a@x,b@y | --file F]
//	partnerd list show --account U [--name N]
func runList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "show") {
		return errors.New("list: say create or show")
	}
	sub, args := args[0], args[1:]
	var sf storeFlags
	fs := newFlagSet("list "+sub, stderr)
	sf.register(fs)
	account := fs.String("account", "", "the account's username (required)")
	name := fs.String("name", "", "the list's name (required for create; show: this list and its recipients)")
	var emails, file *string
	if sub == "create" {
		emails = fs.String("emails", "", "recipients, comma-separated")
		file = fs.String("file", "", "a file of recipients, one address a line (- for standard input); blank lines and lines starting with # are skipped")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("list %s: unexpected argument %q", sub, fs.Arg(0))
	}
	if *account == "" {
		return errors.New("--account is required")
	}
	var recipients []store.ListRecipient
	if sub == "create" {
		if *name == "" {
			return errors.New("--name is required")
		}
		if *emails != "" && *file != "" {
			return errors.New("give --emails or --file, not both")
		}
		var err error
		if recipients, err = readRecipients(*emails, *file); err != nil {
			return err
		}
	}
	db, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := findAccount(ctx, db, *account)
	if err != nil {
		return err
	}
	svc := &marketing.Service{Store: db, Clock: clock.System{}}

	if sub == "create" {
		l, err := svc.CreateList(ctx, a.ID, *name, recipients)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "list %s created in account %s: ID %d, UUID %s, %d recipients\n",
			cell(l.Name), cell(a.Username), l.ID, l.UUID, l.RecipientCount)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if *name != "" {
		l, err := svc.List(ctx, a.ID, store.ListKey{Name: *name})
		if errors.Is(err, marketing.ErrNotFound) {
			return fmt.Errorf("account %q has no list %q", *account, *name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "list %s: ID %d, UUID %s, %d recipients\n", cell(l.Name), l.ID, l.UUID, l.RecipientCount)
		fmt.Fprintln(tw, "ADDRESS\tNAME")
		for _, r := range l.Recipients {
			fmt.Fprintf(tw, "%s\t%s\n", cell(r.Address), cell(r.Name))
		}
		return tw.Flush()
	}
	lists, err := svc.Lists(ctx, a.ID)
	if err != nil {
		return err
	}
	fmt.Fprintln(tw, "ID\tUUID\tNAME\tRECIPIENTS\tCREATED")
	for _, l := range lists {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", l.ID, l.UUID, cell(l.Name), l.RecipientCount, l.Created.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// readRecipients reads the addresses of --emails or --file; the service
// checks them.
func readRecipients(emails, file string) ([]store.ListRecipient, error) {
	var rs []store.ListRecipient
	if emails != "" {
		for _, e := range strings.Split(emails, ",") {
			if e = strings.TrimSpace(e); e != "" {
				rs = append(rs, store.ListRecipient{Address: e})
			}
		}
		return rs, nil
	}
	if file == "" {
		return nil, nil
	}
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rs = append(rs, store.ListRecipient{Address: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return rs, nil
}
