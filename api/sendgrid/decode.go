package sendgrid

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// object is a JSON object whose members are decoded one by one, so that a
// wrong type is answered naming its field instead of with a Go error.
type object map[string]json.RawMessage

// readObject reads the request body as one JSON object. An empty body is
// an empty object when emptyOK (DELETE and the body-less POSTs).
func readObject(r *http.Request, emptyOK bool) (object, *apiError) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyError(err)
	}
	return parseObject(body, emptyOK)
}

// bodyError answers a body that could not be read: over the face's size
// limit (413), over the server's in-flight byte budget (503), or cut off.
func bodyError(err error) *apiError {
	var tooLarge *http.MaxBytesError
	var busy *overloadError
	switch {
	case errors.As(err, &tooLarge):
		return errNoField(http.StatusRequestEntityTooLarge, msgTooLarge)
	case errors.As(err, &busy):
		return &apiError{status: http.StatusServiceUnavailable, errs: []fieldError{{Message: "the server is busy: too many " + busy.reason + " in flight; retry later"}}, detail: err.Error()}
	}
	return &apiError{status: http.StatusBadRequest, errs: []fieldError{{Message: msgBadJSON}}, detail: "read body: " + err.Error()}
}

func parseObject(body []byte, emptyOK bool) (object, *apiError) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		if emptyOK {
			return object{}, nil
		}
		return nil, errNoField(http.StatusBadRequest, msgBadJSON)
	}
	var o object
	// Unmarshal checks the whole text before it decodes anything, so a
	// body that is not JSON is told so even when it starts like an object.
	if err := json.Unmarshal(trimmed, &o); err != nil {
		var notObject *json.UnmarshalTypeError
		if errors.As(err, &notObject) {
			return nil, errNoField(http.StatusBadRequest, msgNotObject)
		}
		return nil, &apiError{status: http.StatusBadRequest, errs: []fieldError{{Message: msgBadJSON}}, detail: err.Error()}
	}
	if o == nil { // null
		return nil, errNoField(http.StatusBadRequest, msgNotObject)
	}
	if bytes.Contains(trimmed, []byte(`\u0000`)) && holdsNUL(trimmed) {
		return nil, errNoField(http.StatusBadRequest, msgNUL)
	}
	return o, nil
}

// holdsNUL reports whether a string of the JSON text (a member name or a
// value, at any depth) decodes to one holding U+0000. No field of the API
// has a use for it, and PostgreSQL's text cannot keep it: the body is
// refused whole, the same on every store, before anything is decoded
// into a request. The caller looks for the escape first, so that only a
// body that may hold one is decoded twice.
func holdsNUL(text []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(text))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false // io.EOF; the text was checked valid before
		}
		if s, ok := tok.(string); ok && strings.ContainsRune(s, 0) {
			return true
		}
	}
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// str returns the string member name: ok false with a message when it is
// there but not a string.
func (o object) str(name string) (v string, present bool, msg string) {
	raw, ok := o[name]
	if !ok || isNull(raw) {
		return "", false, ""
	}
	if raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
		return "", true, "The " + name + " must be a string."
	}
	return v, true, ""
}

// strings returns the array-of-strings member name.
func (o object) strings(name string) (v []string, present bool, msg string) {
	raw, ok := o[name]
	if !ok || isNull(raw) {
		return nil, false, ""
	}
	if raw[0] != '[' || json.Unmarshal(raw, &v) != nil {
		return nil, true, "The " + name + " must be an array of strings."
	}
	return v, true, ""
}
