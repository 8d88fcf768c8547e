package auth

import "regexp"

// keyTokenPattern matches anything shaped like a SendGrid key — ours, or a
// real one a client pasted by mistake, whatever the lengths of its parts.
// The secret's run takes dots too: it errs on masking too much (a
// sentence's full stop, a second key glued to the first) rather than
// leaving part of a secret in the log.
var keyTokenPattern = regexp.MustCompile(`\bSG\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_.-]+`)

// MaskKeyTokens replaces the secret of every API key in s with "***",
// keeping "SG.<id>." so that a logged exchange still says which key was
// used (ids are not secret: GET /v3/api_keys lists them). For the request
// log: an Authorization header, and the body of POST /v3/api_keys's
// answer, which carries the one copy of a new key.
func MaskKeyTokens(s string) string {
	return keyTokenPattern.ReplaceAllString(s, "SG.$1.***")
}
