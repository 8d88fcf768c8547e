package sendgrid

import "regexp"

var (
	// apiKeyValue is an "api_key" member's string value (the secret of a
	// POST /v3/api_keys answer).
	apiKeyValue = regexp.MustCompile(`("api_key"\s*:\s*")((?:[^"\\]|\\.)*)(")`)
	// sgToken is a key written anywhere (a body quoting one): SG.<id>.<secret>;
	// the id is kept, since it names the key without opening it.
	sgToken = regexp.MustCompile(`SG\.([A-Za-z0-9_\-]*)\.[A-Za-z0-9_\-]+`)
)

// MaskBody returns body with API key secrets replaced by "***", for the
// exchange log: the value of every "api_key" member and the secret part of
// every SG.<id>.<secret> token. It returns body itself when there is
// nothing to mask.
func MaskBody(body []byte) []byte {
	out := body
	if apiKeyValue.Match(out) {
		out = apiKeyValue.ReplaceAll(out, []byte(`${1}***${3}`))
	}
	if sgToken.Match(out) {
		out = sgToken.ReplaceAll(out, []byte(`SG.${1}.***`))
	}
	return out
}
