package paykeeper

// objects' one-pass reader and record.str's plain-string path against
// encoding/json, which they replaced on the hot path: for any body, the
// same maps (and the same texts read from them), or an error from both.

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// objectsByUnmarshal is objects as it was: encoding/json alone.
func objectsByUnmarshal(body []byte) ([]map[string]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errEmpty
	}
	if body[0] == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		return []map[string]json.RawMessage{m}, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, err
	}
	return list, nil
}

var errEmpty = bytes.ErrTooLarge // any error: only its presence is compared

// writeObjectByUnmarshal is writeObject as it was: encoding/json alone.
func writeObjectByUnmarshal(body []byte) (map[string]json.RawMessage, error) {
	if len(body) > 0 && body[0] == '[' {
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, err
		}
		if len(list) != 1 || list[0] == nil {
			return nil, errEmpty
		}
		return list[0], nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errEmpty
	}
	return m, nil
}

// strByUnmarshal is record.str's reading of one string value as it was.
func strByUnmarshal(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func FuzzObjectsMatchUnmarshal(f *testing.F) {
	for _, s := range []string{
		``, ` `, `null`, `[]`, `[null]`, `[ null , {} ]`, `{}`, `"x"`, `1`, `[1]`, `["a"]`, `[{}, 2]`, `[[]]`, `{"a":1} x`,
		`[{"id":"1","id":"2","ID":"3"}]`, `[{"\u0069d":"7","st\u0061tus":"ok"}]`, "[{\"i\xffd\":\"\xfe\",\"s\":\"a\\\"b\\u0416\"}]",
		`[{"id":"97452","pay_amount":"10000.00","refund_amount":"5000.00","clientid":"Konstantin Semenov","orderid":null,` +
			`"payment_system_id":"3","unique_id":null,"status":"success","repeat_counter":"0","pending_datetime":"2014-05-14 15:59:00",` +
			`"x":{"a":[1,{"b":"}"}]},"y":[[],"]"],"n":-1.5e3,"t":true,"refund_amount":"0.00"}]`,
		` { "result" : "fail" , "msg" : "Неверный id" } `, `{"result":"success"}`, `[{"result":"succ\u0065ss"}]`,
		"{\"result\":\"fail\xff\"}", `[{"result":"fail"},{}]`, `{"result":null}`, `[null]`,
	} {
		f.Add([]byte(s))
	}
	if entries, err := os.ReadDir("testdata"); err == nil {
		for _, e := range entries {
			if b, err := os.ReadFile("testdata/" + e.Name()); err == nil && !e.IsDir() {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		wm, werr1 := writeObject(trimJSONSpace(body))
		wwant, werr2 := writeObjectByUnmarshal(trimJSONSpace(body))
		if (werr1 == nil) != (werr2 == nil) || !reflect.DeepEqual(wm, wwant) {
			t.Fatalf("writeObject(%q) = %q, %v; encoding/json: %q, %v", body, wm, werr1, wwant, werr2)
		}
		for _, want := range []string{"success", "fail"} {
			var s string
			byJSON := json.Unmarshal(wm["result"], &s) == nil && s == want
			if isJSONString(wm["result"], want) != byJSON {
				t.Fatalf("%q: isJSONString(result, %q) is not encoding/json's %t", body, want, byJSON)
			}
		}
		got, gerr := objects(body)
		want, werr := objectsByUnmarshal(body)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%q: error %v, encoding/json's %v", body, gerr, werr)
		}
		if gerr != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %q\nwant %q", body, got, want)
		}
		for _, m := range got {
			for k, v := range m {
				if len(v) == 0 || v[0] != '"' {
					continue
				}
				r := newRecord(m)
				s := r.str(k)
				w, ok := strByUnmarshal(v)
				if !ok || (w != "" && s != w) || (w == "" && s != "") || r.err != nil {
					t.Fatalf("%q: %s read %q (%v), encoding/json %q", body, k, s, r.err, w)
				}
			}
		}
	})
}
