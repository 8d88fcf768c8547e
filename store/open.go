package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Opening a store by name.
//
// A store is named by a URL or a scheme: "sqlite:PATH", "sqlite://PATH"
// or a plain PATH open SQLite; "postgres://…" opens PostgreSQL. The
// backends register themselves (Register, from their package's init), the
// way database/sql drivers do: package store cannot import them (each
// imports store), and a registry lets a new backend arrive without
// touching store or its callers. Which backends a binary has is decided
// where it is linked: cmd/partnerd imports store/sqlite.

// OpenOptions says how a store is to be opened, whatever its backend.
type OpenOptions struct {
	// Serve marks the process that serves the store: a backend whose
	// state is partly in the serving process (SQLite keeps accepted
	// nonces in memory) refuses a second one. Command-line tools, which
	// may run alongside a server, leave it false.
	Serve bool
}

// OpenOption sets an OpenOptions field.
type OpenOption func(*OpenOptions)

// Serving sets OpenOptions.Serve.
func Serving() OpenOption { return func(o *OpenOptions) { o.Serve = true } }

// Opener opens one backend's store. ref is the name with its scheme, and
// the "//" after it, removed: a file path for SQLite.
type Opener func(ctx context.Context, ref string, o OpenOptions) (Store, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes scheme open with o. It panics on a second registration
// of one scheme, as a programming error.
func Register(scheme string, o Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[scheme]; dup {
		panic("store: scheme registered twice: " + scheme)
	}
	registry[scheme] = o
}

// Schemes lists the registered schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for s := range registry {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// ErrNotBuilt is returned by Open for a scheme partnerd knows of whose
// backend the running binary does not link in.
var ErrNotBuilt = errors.New("store: backend not linked into this binary")

// plannedSchemes are the backends partnerd has, which a binary may not
// link in (a test binary that imports store/sqlite alone).
var plannedSchemes = map[string]string{"postgres": "PostgreSQL", "postgresql": "PostgreSQL"}

// DefaultScheme is the backend a plain path opens.
const DefaultScheme = "sqlite"

// ParseName splits a store's name into its scheme and the reference the
// backend opens. A name without a scheme is a path for DefaultScheme; so is
// one whose "scheme" is a single letter (a Windows drive, C:\…). A scheme
// is a letter followed by letters, digits, '+', '-' or '.', then ':'; a
// path with a colon in its first segment ("a:b.db") is written "./a:b.db"
// or "sqlite:a:b.db".
func ParseName(name string) (scheme, ref string) {
	i := strings.IndexByte(name, ':')
	if i <= 1 || !isScheme(name[:i]) {
		return DefaultScheme, name
	}
	scheme, ref = strings.ToLower(name[:i]), name[i+1:]
	return scheme, strings.TrimPrefix(ref, "//")
}

func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// Open opens the store name names (see ParseName) with its registered
// backend. An unknown scheme is refused with the supported ones named; a
// planned one (postgres) with ErrNotBuilt.
func Open(ctx context.Context, name string, opts ...OpenOption) (Store, error) {
	var o OpenOptions
	for _, f := range opts {
		f(&o)
	}
	scheme, ref := ParseName(name)
	registryMu.RLock()
	open := registry[scheme]
	registryMu.RUnlock()
	if open == nil {
		supported := strings.Join(Schemes(), ", ")
		if what, ok := plannedSchemes[scheme]; ok {
			return nil, fmt.Errorf("%w: the %s store (%s:) is not linked into this binary; supported: %s, or a plain path", ErrNotBuilt, what, scheme, supported)
		}
		return nil, fmt.Errorf("store: unknown scheme %q; supported: %s, or a plain path", scheme, supported)
	}
	if ref == "" {
		return nil, fmt.Errorf("store: %q names no %s store", name, scheme)
	}
	return open(ctx, ref, o)
}
