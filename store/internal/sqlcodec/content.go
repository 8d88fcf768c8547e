package sqlcodec

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/partnerd/partnerd/store"
)

// content is how store.SendContent is kept as JSON: short keys, since it
// is stored with every send that has it.
type content struct {
	Subject    string            `json:"subject,omitempty"`
	HTMLBody   string            `json:"html,omitempty"`
	TextBody   string            `json:"text,omitempty"`
	Recipients []store.Recipient `json:"to,omitempty"`
}

// EncodeContent is c as its column keeps it.
func EncodeContent(c store.SendContent) (string, error) {
	b, err := json.Marshal(content{c.Subject, c.HTMLBody, c.TextBody, c.Recipients})
	return string(b), err
}

// DecodeContent reads what EncodeContent wrote; the empty string is no
// content.
func DecodeContent(s string) (store.SendContent, error) {
	if s == "" {
		return store.SendContent{}, nil
	}
	var c content
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return store.SendContent{}, fmt.Errorf("content: %w", err)
	}
	return store.SendContent{Subject: c.Subject, HTMLBody: c.HTMLBody, TextBody: c.TextBody,
		Recipients: slices.Clip(c.Recipients)}, nil
}
