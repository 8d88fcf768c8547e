package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The SendGrid v3 workloads: the same store through partnerd's REST face,
// measured beside the SOAP workloads in one run (BENCHMARKS.md).
const (
	// SGSend: POST /v3/mail/send with one personalization, scheduled an
	// hour ahead (202).
	SGSend Workload = "sg-send"
	// SGHold: pause a batch (POST /v3/user/scheduled_sends, 201), then
	// on the next request remove the pause (DELETE …/{batch_id}, 204);
	// each client cycles over batches of its own.
	SGHold Workload = "sg-hold"
)

// restWorkload reports whether w speaks the SendGrid v3 face.
func restWorkload(w Workload) bool { return w == SGSend || w == SGHold }

// restBase is the scheme and host of endpoint: the REST face is served
// beside /Service.asmx, so one --url serves every workload.
func restBase(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("loadgen: %q is not an absolute URL", endpoint)
	}
	return u.Scheme + "://" + u.Host, nil
}

// restRequest builds a request of the REST face with the API key.
func restRequest(ctx context.Context, method, u, key string, body []byte) (*http.Request, error) {
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u, nil)
	}
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// CheckREST judges an answer of the REST face: want is the status that
// means success; anything else is an HTTP status problem carrying the
// first error message of a SendGrid error body.
func CheckREST(want, status int, body []byte) *Problem {
	if status == want {
		return nil
	}
	detail := fmt.Sprintf("HTTP %d", status)
	var e struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		detail += ": " + cut(e.Errors[0].Message, 100)
	}
	return &Problem{KindHTTPStatus, detail}
}

// mailSendBody is one personalization due an hour from now, in batch when
// it is not empty.
func mailSendBody(n int64, batch string) []byte {
	m := map[string]any{
		"personalizations": []any{map[string]any{"to": []any{map[string]any{"email": "bench" + strconv.FormatInt(n, 10) + "@example.com"}}}},
		"from":             map[string]any{"email": "bench@example.com"},
		"subject":          "bench " + strconv.FormatInt(n, 10),
		"content":          []any{map[string]any{"type": "text/plain", "value": "bench"}},
		"send_at":          time.Now().Add(time.Hour).Unix(),
	}
	if batch != "" {
		m["batch_id"] = batch
	}
	b, _ := json.Marshal(m)
	return b
}

// restState is one worker's position in the REST workloads.
type restState struct {
	base    string
	batches []string // SGHold: this client's batches
	paused  []bool
	next    int
	sent    int64
}

// doREST makes one request of a REST workload.
func (w *worker) doREST(ctx context.Context) *Problem {
	cfg := w.r.cfg
	st := w.rest
	var (
		req  *http.Request
		err  error
		want int
	)
	switch cfg.Workload {
	case SGSend:
		st.sent++
		req, err = restRequest(ctx, http.MethodPost, st.base+"/v3/mail/send", cfg.APIKey, mailSendBody(st.sent, ""))
		want = http.StatusAccepted
	case SGHold:
		if len(st.batches) == 0 {
			return &Problem{KindNotOK, "this client has no batch (prepare more batches than clients)"}
		}
		i := st.next
		if st.paused[i] {
			req, err = restRequest(ctx, http.MethodDelete, st.base+"/v3/user/scheduled_sends/"+st.batches[i], cfg.APIKey, nil)
			want = http.StatusNoContent
		} else {
			body, _ := json.Marshal(map[string]string{"batch_id": st.batches[i], "status": "pause"})
			req, err = restRequest(ctx, http.MethodPost, st.base+"/v3/user/scheduled_sends", cfg.APIKey, body)
			want = http.StatusCreated
		}
		defer func() {
			// The next request acts on the next batch; a pause that
			// failed is not undone.
			st.next = (i + 1) % len(st.batches)
		}()
		status, answer, err := w.sendChecked(req, err)
		if err != nil {
			return err
		}
		if p := CheckREST(want, status, answer); p != nil {
			return p
		}
		st.paused[i] = !st.paused[i]
		return nil
	}
	status, answer, perr := w.sendChecked(req, err)
	if perr != nil {
		return perr
	}
	return CheckREST(want, status, answer)
}

// sendChecked sends req (unless building it failed) and turns a transport
// failure into its Problem.
func (w *worker) sendChecked(req *http.Request, buildErr error) (int, []byte, *Problem) {
	if buildErr != nil {
		return 0, nil, &Problem{KindTransport, buildErr.Error()}
	}
	status, answer, err := w.send(req)
	if err != nil {
		return 0, nil, &Problem{KindTransport, transportDetail(err)}
	}
	return status, answer, nil
}

// PrepareBatches creates n batches through POST /v3/mail/batch, each with
// one send scheduled an hour ahead through POST /v3/mail/send, for the
// sg-hold workload; it returns their batch IDs. client may be nil.
func PrepareBatches(ctx context.Context, client *http.Client, endpoint, apiKey string, n int) ([]string, error) {
	base, err := restBase(endpoint)
	if err != nil {
		return nil, err
	}
	jobs := make([]int64, n)
	for i := range jobs {
		jobs[i] = int64(i)
	}
	ids, err := prepareParallel(ctx, client, jobs, func() func(*worker, int64) ([]string, error) {
		return func(w *worker, i int64) ([]string, error) {
			id, err := prepareBatch(ctx, w, base, apiKey, i)
			if err != nil {
				return nil, err
			}
			return []string{id}, nil
		}
	})
	if err != nil {
		return nil, fmt.Errorf("loadgen: prepare batches: %w", err)
	}
	return ids, nil
}

func prepareBatch(ctx context.Context, w *worker, base, key string, n int64) (string, error) {
	req, err := restRequest(ctx, http.MethodPost, base+"/v3/mail/batch", key, nil)
	status, body, p := w.sendChecked(req, err)
	if p == nil {
		p = CheckREST(http.StatusCreated, status, body)
	}
	if p != nil {
		return "", fmt.Errorf("POST /v3/mail/batch: %w", p)
	}
	var b struct {
		BatchID string `json:"batch_id"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.BatchID == "" {
		return "", fmt.Errorf("POST /v3/mail/batch answered %.200s", body)
	}
	req, err = restRequest(ctx, http.MethodPost, base+"/v3/mail/send", key, mailSendBody(n, b.BatchID))
	status, body, p = w.sendChecked(req, err)
	if p == nil {
		p = CheckREST(http.StatusAccepted, status, body)
	}
	if p != nil {
		return "", fmt.Errorf("POST /v3/mail/send: %w", p)
	}
	return b.BatchID, nil
}
