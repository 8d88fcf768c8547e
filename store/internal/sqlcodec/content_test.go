package sqlcodec

import (
	"reflect"
	"testing"

	"github.com/partnerd/partnerd/store"
)

func TestContent(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    store.SendContent
		text string
	}{
		{"empty", store.SendContent{}, `{}`},
		{"full", store.SendContent{Subject: "S", HTMLBody: "<p>", TextBody: "t",
			Recipients: []store.Recipient{{Address: "a@example.com", SubscriberKey: "k", ListID: 3}, {Address: "b@example.com"}}},
			`{"subject":"S","html":"\u003cp\u003e","text":"t","to":[{"Address":"a@example.com","SubscriberKey":"k","ListID":3},{"Address":"b@example.com"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, err := EncodeContent(tc.c)
			if err != nil || text != tc.text {
				t.Fatalf("EncodeContent = %s, %v; want %s", text, err, tc.text)
			}
			back, err := DecodeContent(text)
			if err != nil || !reflect.DeepEqual(back, tc.c) {
				t.Errorf("DecodeContent(%s) = %+v, %v; want %+v", text, back, err, tc.c)
			}
		})
	}
	if c, err := DecodeContent(""); err != nil || !c.IsZero() {
		t.Errorf(`DecodeContent("") = %+v, %v; want no content`, c, err)
	}
	if _, err := DecodeContent("{"); err == nil {
		t.Error(`DecodeContent("{") accepted`)
	}
}
