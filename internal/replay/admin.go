package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Admin is a manual clock's admin endpoint (serve --clock manual prints
// its address and bearer token): how replay reads, sets and advances the
// server's clock when a golden case moves it.
type Admin struct {
	// URL is the admin listener's base URL, e.g. http://127.0.0.1:8081.
	URL, Token string
	Client     *http.Client
}

// Now is the server's clock.
func (a *Admin) Now(ctx context.Context) (time.Time, error) {
	return a.call(ctx, http.MethodGet, nil)
}

// Set sets the server's clock to t; the server dispatches what that makes
// due before it answers.
func (a *Admin) Set(ctx context.Context, t time.Time) (time.Time, error) {
	return a.call(ctx, http.MethodPost, map[string]string{"set": t.UTC().Format(time.RFC3339Nano)})
}

// Advance moves the server's clock forward by d, dispatching what that
// makes due.
func (a *Admin) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	return a.call(ctx, http.MethodPost, map[string]string{"advance": d.String()})
}

func (a *Admin) call(ctx context.Context, method string, body any) (time.Time, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body) // a map of strings always marshals
		rd = bytes.NewReader(b)
	}
	url := strings.TrimRight(a.URL, "/") + "/admin/clock"
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return time.Time{}, fmt.Errorf("admin clock: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := a.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return time.Time{}, fmt.Errorf("admin clock %s: %s", url, explainTransport(err))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return time.Time{}, fmt.Errorf("admin clock %s: HTTP %d: %s", url, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	var st struct {
		Now string `json:"now"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return time.Time{}, fmt.Errorf("admin clock %s: not a clock answer: %w", url, err)
	}
	t, err := time.Parse(time.RFC3339Nano, st.Now)
	if err != nil {
		return time.Time{}, fmt.Errorf("admin clock %s: now %q: %w", url, st.Now, err)
	}
	return t.UTC(), nil
}
