package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/partnerd/partnerd/delivery"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/server"
	"github.com/partnerd/partnerd/store"
)

// dispatchFlags configure the dispatcher and delivery of "serve".
type dispatchFlags struct {
	lease        time.Duration
	batch        int
	pauseExpiry  time.Duration
	smtpRelay    string
	smtpUser     string
	smtpPassword string
	smtpStartTLS bool
	smtpInsecure bool
	smtpFrom     string
	adminAddr    string
	testDelay    time.Duration
}

func (c *dispatchFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&c.lease, "dispatch-lease", envDuration("PARTNERD_DISPATCH_LEASE", time.Minute), "how long a dispatcher holds a claimed send; a send left Sending by a crash is sent again after it (env PARTNERD_DISPATCH_LEASE)")
	fs.IntVar(&c.batch, "dispatch-batch", envInt("PARTNERD_DISPATCH_BATCH", 500), "sends claimed per dispatch transaction (env PARTNERD_DISPATCH_BATCH)")
	fs.DurationVar(&c.pauseExpiry, "pause-expiry", envDuration("PARTNERD_PAUSE_EXPIRY", lifecycle.DefaultPolicy.PauseExpiry), "a send paused this long past its SendDate expires (env PARTNERD_PAUSE_EXPIRY)")
	fs.StringVar(&c.smtpRelay, "smtp-relay", envDefault("PARTNERD_SMTP_RELAY", ""), "host:port of an SMTP relay: deliver sends as real mail (default: capture in the outbox only) (env PARTNERD_SMTP_RELAY)")
	fs.StringVar(&c.smtpUser, "smtp-user", envDefault("PARTNERD_SMTP_USER", ""), "SMTP AUTH PLAIN username (env PARTNERD_SMTP_USER)")
	fs.StringVar(&c.smtpPassword, "smtp-password", envDefault("PARTNERD_SMTP_PASSWORD", ""), "SMTP AUTH PLAIN password (env PARTNERD_SMTP_PASSWORD)")
	fs.BoolVar(&c.smtpStartTLS, "smtp-starttls", envDefault("PARTNERD_SMTP_STARTTLS", "false") == "true", "require STARTTLS with the relay (env PARTNERD_SMTP_STARTTLS)")
	fs.BoolVar(&c.smtpInsecure, "smtp-tls-skip-verify", false, "do not verify the relay's TLS certificate (test relays only)")
	fs.StringVar(&c.smtpFrom, "smtp-from", envDefault("PARTNERD_SMTP_FROM", ""), "sender of sends that have no FromAddress (env PARTNERD_SMTP_FROM)")
	fs.DurationVar(&c.testDelay, "dispatch-test-delay", 0, "testing only: hold each claimed send this long before delivering it, so that crash tests can kill the server between claim and completion")
	fs.StringVar(&c.adminAddr, "admin-addr", envDefault("PARTNERD_ADMIN_ADDR", "127.0.0.1:8081"), "admin listener (POST/GET /admin/clock) with --clock manual (env PARTNERD_ADMIN_ADDR; token: PARTNERD_ADMIN_TOKEN)")
}

// config is the server's dispatch configuration: an SMTP relay when
// --smtp-relay is given, else the outbox.
func (c dispatchFlags) config() server.DispatchConfig {
	dc := server.DispatchConfig{Lease: c.lease, BatchSize: c.batch, TestDelay: c.testDelay}
	if c.smtpRelay != "" {
		dc.SMTP = &delivery.SMTP{Addr: c.smtpRelay, Username: c.smtpUser, Password: c.smtpPassword,
			StartTLS: c.smtpStartTLS, DefaultFrom: c.smtpFrom}
		if c.smtpInsecure {
			dc.SMTP.TLSConfig = &tls.Config{InsecureSkipVerify: true}
		}
	}
	return dc
}

// runQueue serves "partnerd queue flush|actions".
func runQueue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "flush" && args[0] != "actions") {
		return errors.New("queue: say flush --account U, or actions")
	}
	sub, args := args[0], args[1:]
	cmd := newStoreCommand("queue "+sub, stderr)
	account := cmd.String("account", "", "the account whose pending sends to discard")
	reason := cmd.String("reason", "", "why, kept with the operator action")
	last := cmd.Int("last", 20, "how many of the newest operator actions to list")
	db, err := cmd.parseAndOpen(ctx, args, nil)
	if err != nil {
		return err
	}
	defer db.Close()

	if sub == "actions" {
		acts, err := db.OperatorActions(ctx, *last)
		if err != nil {
			return err
		}
		// Without names the IDs' rows still print (as "-"): the list of
		// actions is what was asked for.
		names, _ := accountNames(ctx, db)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tAT\tACTION\tACCOUNT\tCOUNT\tBY\tDETAIL\tCREDENTIAL")
		for _, a := range acts {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.ID, a.At.UTC().Format(time.RFC3339), a.Action,
				orDash(names[a.AccountID]), a.Count, orDash(a.Actor), a.Detail, orDash(a.Credential))
		}
		return tw.Flush()
	}

	a, err := findAccount(ctx, db, *account)
	if err != nil {
		return fmt.Errorf("--account: %w", err)
	}
	actor := "unknown"
	if u, err := user.Current(); err == nil {
		actor = u.Username
	}
	// An operator's command runs on the wall clock: it is not part of a
	// --clock manual server's simulated time.
	act := store.OperatorAction{Action: "flush", AccountID: a.ID, Actor: actor, Detail: *reason, At: clock.System{}.Now()}
	if err := db.FlushAccount(ctx, &act); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "flushed %d pending send(s) of %s: now Canceled and never sent (operator action %d)\n", act.Count, a.Username, act.ID)
	return nil
}
