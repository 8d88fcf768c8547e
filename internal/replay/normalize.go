package replay

import (
	"fmt"
	"regexp"
	"strings"
)

// Normalization is what is masked in both the recorded and the replayed
// answers before they are compared, beyond the ID numbering a .golden file
// always has (GUIDs and the SendGrid face's IDs, numbered in order of
// appearance: goldencase.GUIDs, goldencase.SendGridIDs).
type Normalization struct {
	// Times masks every RFC 3339 time as "(time)": for a server whose
	// clock is not the one the answers were recorded under.
	Times bool
	// Names masks the text of every element (any prefix) and the value
	// of every JSON member so named, as "(NAME)": RequestID, NewID …
	Names []string
}

// DefaultNormalize is --normalize's default: times only. IDs are always
// numbered.
const DefaultNormalize = "times"

// ParseNormalization reads --normalize: a comma-separated list of "times"
// and element or member names; "none" alone masks nothing beyond the ID
// numbering.
func ParseNormalization(list string) (Normalization, error) {
	var n Normalization
	list = strings.TrimSpace(list)
	if list == "" || list == "none" {
		return n, nil
	}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "times":
			n.Times = true
		case item == "none":
			return n, fmt.Errorf("--normalize: none stands alone")
		case nameRE.MatchString(item):
			n.Names = append(n.Names, item)
		default:
			return n, fmt.Errorf("--normalize: %q is not an element or member name (letters, digits, _ . -) nor \"times\"", item)
		}
	}
	return n, nil
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
	timeRE = regexp.MustCompile(`\b[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})?`)
)

// Apply masks s as n says.
func (n Normalization) Apply(s string) string {
	for _, name := range n.Names {
		q := regexp.QuoteMeta(name)
		// <p:NAME attrs>text</ : the text is group 1.
		elem := regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?` + q + `(?:\s[^>]*)?>([^<]*)</`)
		s = replaceGroup(s, elem, "("+name+")")
		// "NAME": "text" or "NAME": 123
		member := regexp.MustCompile(`"` + q + `":\s*("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*)`)
		s = replaceGroup(s, member, `"(`+name+`)"`)
	}
	if n.Times {
		s = timeRE.ReplaceAllString(s, "(time)")
	}
	return s
}

// replaceGroup replaces group 1 of every match of re by with.
func replaceGroup(s string, re *regexp.Regexp, with string) string {
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(s[last:m[2]])
		b.WriteString(with)
		last = m[3]
	}
	b.WriteString(s[last:])
	return b.String()
}
