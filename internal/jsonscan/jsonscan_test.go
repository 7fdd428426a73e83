package jsonscan

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// members reads an object the way json.Unmarshal into a map does (the last
// of duplicate keys wins).
func members(b []byte) (map[string]string, int) {
	m := map[string]string{}
	end := Members(b, SkipSpace(b, 0), func(k, v []byte) { m[string(k)] = string(v) })
	return m, end
}

func FuzzMembersAgreeWithEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":"x","a":"y"}`, `{"\u0069d":"1"}`, `{"a":{"b":[1,"}",{"c":"]"}]},"d":null}`,
		`{"a" : "q\"uote" , "b":true,"c":-1.5e3}`, "{\"k\xff\":1}", `{"s":"\u2029"}`, `{"a":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want map[string]json.RawMessage
		if !json.Valid(b) || json.Unmarshal(b, &want) != nil || want == nil {
			return // not an object: never walked
		}
		got, end := members(b)
		require.Len(t, got, len(want))
		for k, v := range want {
			require.Contains(t, got, k)
			require.Equal(t, string(v), got[k], "key %q", k)
		}
		require.Equal(t, len(b), SkipSpace(b, end), "past the closing brace, then only space")
	})
}

func TestValueEnd(t *testing.T) {
	b := []byte(`["a\"]",{"x":[1,2]},-3.5,true,null ]`)
	var ends []string
	for i := 1; i < len(b) && b[i] != ']'; {
		end := ValueEnd(b, i)
		ends = append(ends, string(b[i:end]))
		i = SkipSpace(b, end)
		if b[i] == ',' {
			i = SkipSpace(b, i+1)
		}
	}
	assert.Equal(t, []string{`"a\"]"`, `{"x":[1,2]}`, `-3.5`, `true`, `null`}, ends)
}
