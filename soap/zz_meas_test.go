package soap

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
	"fmt"
)

func TestZZMeasure(t *testing.T) {
	const env1 = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>`
	const env2 = `</soap:Body></soap:Envelope>`
	cases := map[string][]byte{
		"elements1M": []byte(env1 + "<x>" + strings.Repeat("<a/>", 1000000) + "</x>" + env2),
		"attrs": func() []byte {
			var b bytes.Buffer
			b.WriteString(env1 + "<x")
			for i := 0; i < 1000000; i++ {
				fmt.Fprintf(&b, " a%d=\"\"", i)
			}
			b.WriteString("/>" + env2)
			return b.Bytes()
		}(),
		"attrsShort": []byte(env1 + "<x" + strings.Repeat(` a=""`, 800000) + "/>" + env2),
		"text": []byte(env1 + "<x>" + strings.Repeat("A", 4<<20) + "</x>" + env2),
		"nest": []byte(env1 + strings.Repeat("<a>", 1300000) + env2),
		"ns": []byte(env1 + "<x" + strings.Repeat(` xmlns:a="u"`, 300000) + "/>" + env2),
	}
	for name, raw := range cases {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := ReadEnvelope(raw)
		d := time.Since(start)
		runtime.ReadMemStats(&after)
		es := ""
		if err != nil { es = err.Error(); if len(es) > 80 { es = es[:80] } }
		t.Logf("%s: size %d MiB, %v, TotalAlloc %d MiB, HeapInuse delta %d MiB err=%s", name, len(raw)>>20, d, (after.TotalAlloc-before.TotalAlloc)>>20, (int64(after.HeapInuse)-int64(before.HeapInuse))>>20, es)
	}
}
