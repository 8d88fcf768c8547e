package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/store"
	_ "github.com/partnerd/partnerd/store/sqlite"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct{ name, scheme, ref string }{
		{"partnerd.db", "sqlite", "partnerd.db"},
		{"/var/lib/partnerd/p.db", "sqlite", "/var/lib/partnerd/p.db"},
		{"./a:b.db", "sqlite", "./a:b.db"},
		{`C:\data\p.db`, "sqlite", `C:\data\p.db`},
		{"sqlite:p.db", "sqlite", "p.db"},
		{"sqlite:a:b.db", "sqlite", "a:b.db"},
		{"sqlite://p.db", "sqlite", "p.db"},
		{"sqlite:///var/p.db", "sqlite", "/var/p.db"},
		{"SQLite:p.db", "sqlite", "p.db"},
		{"postgres://u@h/db?sslmode=disable", "postgres", "u@h/db?sslmode=disable"},
		{"mysql://h/db", "mysql", "h/db"},
		{"1x:p.db", "sqlite", "1x:p.db"},
	} {
		scheme, ref := store.ParseName(tc.name)
		if scheme != tc.scheme || ref != tc.ref {
			t.Errorf("ParseName(%q) = %q, %q; want %q, %q", tc.name, scheme, ref, tc.scheme, tc.ref)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		wantErr string // "" when it opens
		is      error
	}{
		{filepath.Join(dir, "plain.db"), "", nil},
		{"sqlite:" + filepath.Join(dir, "scheme.db"), "", nil},
		{"sqlite://" + filepath.Join(dir, "url.db"), "", nil},
		{"postgres://localhost/partnerd", "not linked into this binary", store.ErrNotBuilt},
		{"postgresql://localhost/partnerd", "not linked into this binary", store.ErrNotBuilt},
		{"mysql://localhost/partnerd", `unknown scheme "mysql"; supported: sqlite`, nil},
		{"sqlite:", "names no sqlite store", nil},
	} {
		st, err := store.Open(context.Background(), tc.name)
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("Open(%q): %v", tc.name, err)
				continue
			}
			if _, ok := st.(store.Backuper); !ok {
				t.Errorf("Open(%q): the SQLite store is not a store.Backuper", tc.name)
			}
			st.Close()
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || st != nil {
			t.Errorf("Open(%q) = %v, %v; want an error saying %q", tc.name, st, err, tc.wantErr)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("Open(%q) = %v; want errors.Is %v", tc.name, err, tc.is)
		}
	}
}
