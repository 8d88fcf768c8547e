package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store"
)

// TestListCommand: list create from --emails and from --file, list show of
// all lists and of one, and the refusals, through run as the command line
// calls it.
func TestListCommand(t *testing.T) {
	db, name := testrig.OpenNamed(t)
	if err := db.CreateAccount(t.Context(), &store.Account{Username: "u"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	file := filepath.Join(t.TempDir(), "rcpt.txt")
	if err := os.WriteFile(file, []byte("# spring\nc@example.com\n\n  d@example.com  \nC@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	do := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append(args, "--db", name), &out, &errOut)
		return out.String(), err
	}
	cases := []struct {
		name    string
		args    []string
		wantOut []string // substrings of stdout
		wantErr string   // substring of the error; "" for none
	}{
		{"create from emails", []string{"list", "create", "--account", "u", "--name", "A", "--emails", "a@example.com, b@example.com"},
			[]string{"list A created in account u: ID 1", "2 recipients"}, ""},
		{"create from a file, duplicates once", []string{"list", "create", "--account", "u", "--name", "B", "--file", file},
			[]string{"ID 2", "2 recipients"}, ""},
		{"create empty", []string{"list", "create", "--account", "u", "--name", "C"}, []string{"0 recipients"}, ""},
		{"show all", []string{"list", "show", "--account", "u"}, []string{"ID", "UUID", "A", "B", "C"}, ""},
		{"show one", []string{"list", "show", "--account", "u", "--name", "B"}, []string{"list B: ID 2", "c@example.com", "d@example.com"}, ""},
		{"duplicate name", []string{"list", "create", "--account", "u", "--name", "A"}, nil, "already exists"},
		{"bad address", []string{"list", "create", "--account", "u", "--name", "D", "--emails", "a@example.com,nope"}, nil, `"nope" is not an email address`},
		{"both sources", []string{"list", "create", "--account", "u", "--name", "D", "--emails", "a@x.org", "--file", file}, nil, "not both"},
		{"missing file", []string{"list", "create", "--account", "u", "--name", "D", "--file", file + ".none"}, nil, "no such file"},
		{"no name", []string{"list", "create", "--account", "u"}, nil, "--name is required"},
		{"no account", []string{"list", "show"}, nil, "--account is required"},
		{"unknown account", []string{"list", "show", "--account", "nobody"}, nil, `no account "nobody"`},
		{"unknown list", []string{"list", "show", "--account", "u", "--name", "Z"}, nil, `has no list "Z"`},
		{"no subcommand", []string{"list"}, nil, "say create or show"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := do(c.args...)
			if c.wantErr == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("error %v, want one containing %q", err, c.wantErr)
			}
			for _, w := range c.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
