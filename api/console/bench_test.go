package console_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/server"
	"github.com/partnerd/partnerd/store"
)

// BenchmarkSendList is the server time of a send list page of 100 rows on
// a store of PARTNERD_CONSOLE_BENCH_SENDS sends (default 200,000; the
// issue's target is 1,000,000 under 200 ms): the first page, a page deep
// in the list (keyset paging: it costs what the first does), a status
// filter few sends match, and the operator's list over every account;
// then the same with the face filter: a common face (a third of the sends),
// a rare one (1%), one no send has (its index must answer without reading
// the account's sends), deep, and the operator's.
func BenchmarkSendList(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("PARTNERD_CONSOLE_BENCH_SENDS")); err == nil && v > 0 {
		n = v
	}
	credential.DefaultIterations = 1000
	ctx := context.Background()
	db := testrig.OpenStore(b)
	clk := clock.NewManual(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC))
	sealer, _ := credential.NewSealer(make([]byte, 32))
	hash, _ := credential.Hash("bench-pw")
	var accts []store.Account
	for _, name := range []string{"bench", "other"} {
		a := store.Account{Username: name, PasswordHash: hash, PasswordSealed: sealer.Seal("bench-pw")}
		if err := db.CreateAccount(ctx, &a); err != nil {
			b.Fatal(err)
		}
		accts = append(accts, a)
	}
	now := clk.Now()
	const chunk = 10_000
	for done := 0; done < n; done += chunk {
		err := db.Update(ctx, func(tx store.Tx) error {
			for i := done; i < done+chunk && i < n; i++ {
				status := store.StatusScheduled
				if i%1000 == 500 {
					status = store.StatusPaused
				}
				origin, originID := store.OriginSOAP, ""
				switch {
				case i%100 == 7:
					origin, originID = store.OriginCampaign, "1"
				case i%3 == 0:
					origin = store.OriginREST
				}
				s := &store.Send{AccountID: accts[i%10/9].ID, EmailID: int64(i % 50), ListIDs: []int64{1}, Subject: "Spring sale " + strconv.Itoa(i),
					SendDate: now.Add(time.Duration(i%4320) * time.Minute), Status: status, CreatedDate: now, ModifiedDate: now, StatusChangedAt: now,
					Origin: origin, OriginID: originID}
				if err := tx.InsertSend(ctx, s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	h := server.New(server.Config{Store: db, Clock: clk, Sealer: sealer, Policy: lifecycle.DefaultPolicy,
		Logger: slog.New(slog.DiscardHandler), ConsoleToken: opToken})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()

	signIn := func(fields url.Values) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.Get(srv.URL + "/console/signin")
		if err != nil {
			b.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fields.Set("csrf", csrfField.FindStringSubmatch(string(page))[1])
		resp, err = c.PostForm(srv.URL+"/console/signin", fields)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if !strings.HasSuffix(resp.Request.URL.Path, "/console/sends") {
			b.Fatalf("sign-in ended at %s", resp.Request.URL)
		}
		return c
	}
	account := signIn(url.Values{"username": {"bench"}, "password": {"bench-pw"}})
	operator := signIn(url.Values{"token": {opToken}})
	deep := fmt.Sprint(n * 3 / 4)
	for _, c := range []struct {
		name   string
		client *http.Client
		path   string
		rows   int
	}{
		{"first", account, "/console/sends", 100},
		{"deep", account, "/console/sends?after=" + deep, 100},
		{"status=Paused", account, "/console/sends?status=Paused", min(100, n/1000*9/10)},
		{"operator", operator, "/console/sends", 100},
		{"operator/deep", operator, "/console/sends?after=" + deep, 100},
		{"face=rest", account, "/console/sends?face=rest", 100},
		{"face=rest/deep", account, "/console/sends?face=rest&after=" + deep, 100},
		{"face=campaign", account, "/console/sends?face=campaign", 100},
		{"face=definition", account, "/console/sends?face=definition", 0},
		{"operator/face=campaign", operator, "/console/sends?face=campaign", 100},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := c.client.Get(srv.URL + c.path)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if got := strings.Count(string(body), `<tr id="send-`); resp.StatusCode != 200 || got != c.rows {
					b.Fatalf("HTTP %d, %d rows; want %d", resp.StatusCode, got, c.rows)
				}
			}
		})
	}
}
