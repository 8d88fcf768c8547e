// Package sqlcodec holds how the SQL stores keep Go values that have no
// column type of their own (a send's ListIDs, its content, scopes) and
// which values they can keep at all (dates), so that store/sqlite and
// store/postgres write, read and refuse alike: a database moved from one
// to the other reads back the same.
package sqlcodec

import (
	"encoding/json"
	"strconv"
	"strings"
)

// EncodeListIDs stores ListIDs as a JSON array: they are only ever read
// and written with their send, so a child table would buy joins and nothing
// else.
func EncodeListIDs(ids []int64) (string, error) {
	if len(ids) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(ids)
	return string(b), err
}

// DecodeListIDs reads what EncodeListIDs wrote. Every Send read goes
// through it (100 per cancel-batch request), so the arrays EncodeListIDs
// writes, plain comma-separated integers, are read directly; anything else
// goes to encoding/json.
func DecodeListIDs(text string) ([]int64, error) {
	if len(text) >= 2 && text[0] == '[' && text[len(text)-1] == ']' {
		inner := text[1 : len(text)-1]
		if inner == "" {
			return nil, nil
		}
		ids := make([]int64, 0, strings.Count(inner, ",")+1)
		for part := range strings.SplitSeq(inner, ",") {
			id, err := strconv.ParseInt(part, 10, 64)
			if err != nil || !isJSONInteger(part) {
				ids = nil
				break
			}
			ids = append(ids, id)
		}
		if ids != nil {
			return ids, nil
		}
	}
	var ids []int64
	err := json.Unmarshal([]byte(text), &ids)
	return ids, err
}

// isJSONInteger reports whether s is an integer as JSON spells it: no
// sign but '-', no leading zeros.
func isJSONInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
