package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/internal/metrics"
	"github.com/partnerd/partnerd/internal/reqinfo"
	"github.com/partnerd/partnerd/store"
)

// faceOptions is what the middleware knows of the face a route belongs to.
type faceOptions struct {
	name        string
	refuser     Refuser
	operational bool
	logsOwn     bool
}

// middleware is what every face's routes share: a reqinfo.Info per request
// (its ID, face, method and path), the in-flight limit, one access log line,
// the metrics by face, operation and outcome, and the exchange log for the
// faces that do not write it themselves.
type middleware struct {
	inflight inFlight
	metrics  *metrics.Metrics
	logger   *slog.Logger
	// exchanges stores what the middleware captured of a non-SOAP
	// exchange (the request log, synchronous or the async writer).
	exchanges func(ctx context.Context, e store.RequestLog)
	// unlimited: no in-flight limit (a listener of its own, see Apart).
	unlimited bool
	// ids draws request IDs (version 7 GUIDs like the SOAP face's
	// RequestIDs, which replace them for SOAP requests); clock is the
	// server's, which a deterministic source's IDs start with.
	ids   ids.Source
	clock clock.Clock
	// opsIDs draws the request IDs of operational faces: a stream of
	// their own, so that however often a script polls /readyz the
	// other requests' IDs stay the same.
	opsIDs ids.Source
	// dateFromClock: answers carry a Date header from clock rather than
	// the wall clock (deterministic mode: the same answer every run).
	dateFromClock bool
}

// wrap returns h behind the middleware for face f.
func (mw *middleware) wrap(f faceOptions, h http.Handler) http.Handler {
	if !f.operational && !mw.unlimited {
		no := plainRefusal
		if f.refuser != nil {
			no = refusal{refuse: f.refuser.Refuse, err: f.refuser.OverloadError}
		}
		h = limitInFlight(h, no, mw.inflight, mw.metrics)
	}
	capture := !f.operational && !f.logsOwn && mw.exchanges != nil
	src := mw.ids
	if f.operational {
		src = mw.opsIDs
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		in := &reqinfo.Info{ID: src.TimeUUID(mw.clock.Now()), Face: f.name, Method: r.Method, Path: r.URL.Path}
		// The remote address is for the login throttle, which sees only a
		// context.
		ctx := auth.WithRemote(reqinfo.With(r.Context(), in), r.RemoteAddr)
		r = r.WithContext(ctx)
		if mw.dateFromClock {
			// net/http would stamp the wall clock's Date, different
			// every run.
			w.Header().Set("Date", mw.clock.Now().UTC().Format(http.TimeFormat))
		}
		rec := &recorder{ResponseWriter: w}
		var body *teeBody
		if capture {
			// A little more than is kept, so that the face's mask sees a
			// secret that straddles the bound whole before the cut.
			rec.keep = logBodyMax + maskMargin
			if r.Body != nil && r.Body != http.NoBody {
				body = &teeBody{ReadCloser: r.Body, max: logBodyMax + maskMargin}
				r.Body = body
			}
		}
		h.ServeHTTP(rec, r)
		d := time.Since(start)
		snap := in.Snapshot()
		status := rec.status
		if status == 0 {
			status = http.StatusOK // nothing written: net/http answers 200
		}
		outcome := snap.Outcome
		if outcome == "" {
			outcome = strconv.Itoa(status)
		}
		if snap.Throttled {
			outcome = "Throttled"
		}
		mw.metrics.ObserveRequest(f.name, snap.Operation, outcome, d)
		mw.metrics.ObserveCredential(snap.Username, snap.CredentialKind, snap.Credential)
		level := slog.LevelInfo
		if f.operational {
			level = slog.LevelDebug
		}
		mw.logger.LogAttrs(ctx, level, "request",
			slog.String("request_id", snap.ID), slog.String("face", f.name), slog.String("operation", snap.Operation),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status),
			slog.String("outcome", outcome), slog.String("user", snap.Username), slog.String("credential", credentialLabel(snap)),
			slog.Duration("duration", d), slog.String("remote", r.RemoteAddr))
		// A refused request is not logged: one more store write at the
		// worst moment, for a request that did nothing.
		if capture && !snap.Logged && !snap.Throttled {
			var req []byte
			var reqSize int64
			if body != nil {
				req, reqSize = body.kept.Bytes(), body.n
			}
			mw.exchanges(context.WithoutCancel(ctx), capturedExchange(snap, r, status, req, reqSize, rec.kept.Bytes(), rec.n, start, d))
		}
	})
}

// credentialLabel is the access log's name of a request's credential,
// KIND:NAME, or "" when it did not log in.
func credentialLabel(s reqinfo.Snapshot) string {
	if s.Credential == "" {
		return ""
	}
	return s.CredentialKind + ":" + s.Credential
}

// maskMargin is how far past the kept bytes a body is captured: more than
// the longest secret a face masks (an SG.<id>.<secret> key is 69 bytes),
// so that the mask, which runs before the cut, never sees half of one.
const maskMargin = 1 << 10

// capturedExchange is a non-SOAP exchange as the request log keeps it:
// bodies masked by the face's Mask, the credential of the Authorization
// header (which is never stored) taken out of anything that echoes it,
// bounded like SOAP's (logBodyMax once authenticated, logExcerptMax
// before), and a body that is not UTF-8 described instead of kept.
func capturedExchange(s reqinfo.Snapshot, r *http.Request, status int, req []byte, reqSize int64, resp []byte, respSize int64, received time.Time, d time.Duration) store.RequestLog {
	authenticated := s.AccountID != 0 || s.Username != ""
	limit := logExcerptMax
	if authenticated {
		limit = logBodyMax
	}
	secret := credentialOf(r.Header.Get("Authorization"))
	kept := func(b []byte, size int64) (string, string) {
		// Whether anything was left out is judged before masking, which
		// shortens a body without cutting it.
		whole := int64(len(b)) >= size
		if s.Mask != nil && len(b) > 0 {
			b = s.Mask(bytes.Clone(b))
		}
		if secret != "" {
			b = bytes.ReplaceAll(b, []byte(secret), []byte("****"))
		}
		out, cut := cutUTF8(b, limit)
		if !utf8.Valid(out) {
			// A body kept short of its end may stop inside a rune;
			// anything else that is not UTF-8 is not text to show.
			trimmed := out
			for i := 1; i < utf8.UTFMax && len(trimmed) > 0 && !utf8.Valid(trimmed); i++ {
				trimmed = trimmed[:len(trimmed)-1]
			}
			if !utf8.Valid(trimmed) || (whole && !cut) {
				return "", "not UTF-8 text: not kept"
			}
			out, cut = trimmed, true
		}
		note := ""
		if cut || !whole {
			note = bodyNote("", true, limit, int(size), authenticated)
		}
		return string(out), note
	}
	e := store.RequestLog{RequestID: s.ID, Face: s.Face, Method: s.Method, Path: s.Path,
		AccountID: s.AccountID, Username: s.Username, CredentialKind: s.CredentialKind, Credential: s.Credential, Operation: s.Operation, Status: s.Outcome, HTTPStatus: status,
		Detail: boundText(s.Detail, logDetailMax), Remote: r.RemoteAddr, ReceivedAt: received.UTC(), Duration: d,
		RequestSize: reqSize, ResponseSize: respSize}
	if e.Status == "" {
		e.Status = strconv.Itoa(status)
	}
	e.Request, e.RequestNote = kept(req, reqSize)
	e.Response, e.ResponseNote = kept(resp, respSize)
	if secret != "" {
		e.Detail = strings.ReplaceAll(e.Detail, secret, "****")
	}
	return e
}

// credentialOf is the secret part of an Authorization header ("Bearer
// abc" → "abc"), or "" when it is too short to replace safely.
func credentialOf(h string) string {
	h = strings.TrimSpace(h)
	if i := strings.IndexByte(h, ' '); i >= 0 {
		h = strings.TrimSpace(h[i+1:])
	}
	if len(h) < 4 {
		return ""
	}
	return h
}

// recorder notes the status a handler answers with and, when keep is set,
// keeps the first keep bytes of its body for the exchange log.
type recorder struct {
	http.ResponseWriter
	status int
	keep   int
	kept   bytes.Buffer
	n      int64
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if room := w.keep - w.kept.Len(); room > 0 {
		w.kept.Write(p[:min(room, len(p))])
	}
	w.n += int64(len(p))
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// teeBody keeps the first max bytes of a request body as the handler reads
// it, and counts all of it.
type teeBody struct {
	io.ReadCloser
	max  int
	kept bytes.Buffer
	n    int64
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := b.max - b.kept.Len(); room > 0 && n > 0 {
		b.kept.Write(p[:min(room, n)])
	}
	b.n += int64(n)
	return n, err
}

// collapseLeadingSlashes returns r with the leading slashes of its path
// made one ("//v2/token" → "/v2/token"), r itself when there was one. SDKs
// join an authentication base URL that ends in "/" with "/v2/token", and
// ServeMux answers such a path with a redirect, which their HTTP clients
// do not follow for a POST: the request must be routed as if written
// right.
func collapseLeadingSlashes(r *http.Request) *http.Request {
	if !strings.HasPrefix(r.URL.Path, "//") {
		return r
	}
	r2 := *r
	u := *r.URL
	u.Path = "/" + strings.TrimLeft(u.Path, "/")
	if u.RawPath != "" {
		u.RawPath = "/" + strings.TrimLeft(u.RawPath, "/")
	}
	r2.URL = &u
	return &r2
}
