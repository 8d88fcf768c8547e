package sendgrid

import (
	"encoding/json"
	"testing"
)

func TestMailBatch(t *testing.T) {
	rg := newRig(nil)
	rec := rg.do("POST", "/v3/mail/batch", rg.full, "")
	check(t, rec, 201, `{"batch_id":"B0000000000000000000000000000001"}`)
	check(t, rg.do("POST", "/v3/mail/batch", rg.full, "{}"), 201, "-")
	check(t, rg.do("GET", "/v3/mail/batch/B0000000000000000000000000000001", rg.full, ""), 200,
		`{"batch_id":"B0000000000000000000000000000001"}`)
	invalid := `{"errors":[{"field":null,"message":"invalid batch id"}]}`
	check(t, rg.do("GET", "/v3/mail/batch/unknown", rg.full, ""), 400, invalid)
	// Another account's batch is unknown, not forbidden.
	check(t, rg.do("GET", "/v3/mail/batch/B0000000000000000000000000000001", rg.keyWith(2), ""), 400, invalid)
}

func TestScheduledSends(t *testing.T) {
	rg := newRig(nil)
	var ids []string
	for range 3 {
		var b batchResponse
		_ = json.Unmarshal(rg.do("POST", "/v3/mail/batch", rg.full, "").Body.Bytes(), &b)
		ids = append(ids, b.BatchID)
	}
	rg.batches.cutoff[ids[2]] = true
	a, b := ids[0], ids[1]
	const notFound = `{"errors":[{"field":null,"message":"batch id not found"}]}`
	steps := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"list empty", "GET", "/v3/user/scheduled_sends", "", 200, `[]`},
		{"get without a status", "GET", "/v3/user/scheduled_sends/" + a, "", 404, notFound},
		{"patch without a status", "PATCH", "/v3/user/scheduled_sends/" + a, `{"status":"cancel"}`, 404, notFound},
		{"delete without a status", "DELETE", "/v3/user/scheduled_sends/" + a, "", 404, notFound},
		{"pause", "POST", "/v3/user/scheduled_sends", `{"batch_id":"` + a + `","status":"pause"}`, 201, `{"batch_id":"` + a + `","status":"pause"}`},
		{"pause again", "POST", "/v3/user/scheduled_sends", `{"batch_id":"` + a + `","status":"cancel"}`, 400,
			`{"errors":[{"field":"batch_id","message":"a status for this batch id exists, try PATCH to update the status"}]}`},
		{"unknown batch", "POST", "/v3/user/scheduled_sends", `{"batch_id":"nope","status":"pause"}`, 400,
			`{"errors":[{"field":"batch_id","message":"invalid batch id"}]}`},
		{"bad status", "POST", "/v3/user/scheduled_sends", `{"batch_id":"` + b + `","status":"stop"}`, 400,
			`{"errors":[{"field":"status","message":"status must be pause or cancel"}]}`},
		{"missing both", "POST", "/v3/user/scheduled_sends", `{}`, 400,
			`{"errors":[{"field":"batch_id","message":"batch_id is required"},{"field":"status","message":"status is required"}]}`},
		{"inside the cutoff", "POST", "/v3/user/scheduled_sends", `{"batch_id":"` + ids[2] + `","status":"cancel"}`, 400,
			`{"errors":[{"field":"batch_id","message":"the batch's sends are due in less than the cutoff: they can no longer be paused or canceled"}]}`},
		{"get one is an array", "GET", "/v3/user/scheduled_sends/" + a, "", 200, `[{"batch_id":"` + a + `","status":"pause"}]`},
		{"patch to cancel", "PATCH", "/v3/user/scheduled_sends/" + a, `{"status":"cancel"}`, 204, ""},
		{"patch bad status", "PATCH", "/v3/user/scheduled_sends/" + a, `{"status":"paused"}`, 400,
			`{"errors":[{"field":"status","message":"status must be pause or cancel"}]}`},
		{"cancel b", "POST", "/v3/user/scheduled_sends", `{"batch_id":"` + b + `","status":"cancel"}`, 201, "-"},
		{"list oldest hold first", "GET", "/v3/user/scheduled_sends", "", 200,
			`[{"batch_id":"` + a + `","status":"cancel"},{"batch_id":"` + b + `","status":"cancel"}]`},
		{"other account sees none", "GET", "/v3/user/scheduled_sends/" + a, "other", 404, notFound},
		{"delete", "DELETE", "/v3/user/scheduled_sends/" + a, "", 204, ""},
		{"deleted is gone", "GET", "/v3/user/scheduled_sends/" + a, "", 404, notFound},
		{"delete unknown", "DELETE", "/v3/user/scheduled_sends/nope", "", 404, notFound},
	}
	other := rg.keyWith(2)
	for _, s := range steps {
		tok, body := rg.full, s.body
		if s.body == "other" {
			tok, body = other, ""
		}
		rg.clock.Advance(1) // distinct hold times
		rec := rg.do(s.method, s.path, tok, body)
		if rec.Code != s.status || (s.want != "-" && rec.Body.String() != s.want) {
			t.Errorf("%s: %d %s\nwant %d %s", s.name, rec.Code, rec.Body, s.status, s.want)
		}
	}
}

func TestScheduledSendsHeldLimit(t *testing.T) {
	rg := newRig(nil)
	rg.batches.heldLimit = 1
	var ids []string
	for range 2 {
		var b batchResponse
		_ = json.Unmarshal(rg.do("POST", "/v3/mail/batch", rg.full, "").Body.Bytes(), &b)
		ids = append(ids, b.BatchID)
	}
	check(t, rg.do("POST", "/v3/user/scheduled_sends", rg.full, `{"batch_id":"`+ids[0]+`","status":"pause"}`), 201, "-")
	rec, snap := rg.doInfo("POST", "/v3/user/scheduled_sends", rg.full, `{"batch_id":"`+ids[1]+`","status":"pause"}`)
	check(t, rec, 400, `{"errors":[{"field":"","message":"max limit reached"}]}`)
	if snap.Detail == "" || snap.Detail == "max limit reached" {
		t.Errorf("detail %q should carry the domain's reason", snap.Detail)
	}
}
