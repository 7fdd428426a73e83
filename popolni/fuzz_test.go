package popolni

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testcheck"
)

// FuzzClientAnswers feeds any status and body a server could send to Pay,
// Status and Balance: nothing panics, every error is one of the typed ones
// and free of the password, a call succeeds only for the document's success
// answer (HTTP 200 and the documented JSON, read here without the client's
// decoder), a Pay that failed is outcome-unknown unless the answer proves
// it was refused, a Pay without error has one result per payment, and a result
// whose status the document does not list is an outcome-unknown, not a
// success.
func FuzzClientAnswers(f *testing.F) {
	for _, name := range []string{"pay_response.json", "status_response.json", "balance_response.json"} {
		f.Add(200, fixture(f, name))
	}
	f.Add(200, []byte(`[{"transactionId":1000000001,"status":0}]`))
	f.Add(200, []byte(`[{"transactionId":1000000001.0,"status":999}]`))
	f.Add(200, []byte(`[{"transactionId":1000000001,"status":0},{"transactionId":1000000001,"status":3}]`))
	f.Add(200, []byte(`[{"TransactionID":1000000001,"Status":0}]`))
	f.Add(201, []byte(`[{"transactionId":1000000001,"status":0}]`))
	f.Add(200, []byte(`{"currentBalance":100,"creditLimit":0}]`))
	f.Add(200, []byte(`{}`))
	f.Add(200, []byte(`null`))
	f.Add(403, []byte("IP is not allowed"))
	f.Add(503, []byte(""))
	f.Add(200, []byte(`[{"transactionId":1000000001,"status":124}]`))
	f.Add(500, []byte("<html><title>x</title>"))
	f.Add(524, []byte("A timeout occurred"))
	f.Add(307, []byte(""))
	f.Add(429, []byte(""))
	f.Add(200, []byte(`[{"transactionId":1000000001,"status":4294967296}]`))
	f.Add(200, []byte(`[{"transactionId":1.000000001e9,"status":0e0}]`))
	f.Add(200, []byte(`[{"transactionId":1e999999999,"status":0}]`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		mock := httpmock.NewMockTransport()
		mock.RegisterNoResponder(func(*http.Request) (*http.Response, error) {
			return httpmock.NewBytesResponse(status, body), nil
		})
		c, err := New(Credentials{Login: "partner", Password: "fuzz-secret-pw"},
			payments.WithTransport(mock), payments.WithTestTiming(),
			payments.WithRetry(payments.RetryPolicy{MaxAttempts: 2}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		ids := []int64{1000000001}
		batch := []Payment{{ID: ids[0], Amount: 500, Account: "380991234567"}}

		res, err := c.Pay(ctx, batch)
		payDone := documentedResults(status, body, ids)
		testcheck.NoSuccessUnless(t, err, payDone, "Pay", status, body)
		testcheck.WriteOutcome(t, err, payOutcome(payDone, status), "fuzz-secret-pw")
		if err == nil && len(res) != len(batch) {
			t.Fatalf("Pay: %d results for %d payments", len(res), len(batch))
		}
		checkResults(t, "Pay", res)

		res, err = c.Status(ctx, ids...)
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		testcheck.NoSuccessUnless(t, err, documentedResults(status, body, ids), "Status", status, body)
		checkResults(t, "Status", res)

		_, err = c.Balance(ctx)
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		testcheck.NoSuccessUnless(t, err, documentedBalance(status, body), "Balance", status, body)
	})
}

// payOutcome is what an answer to a pay proves: done for the document's
// success answer; refused for the 403 texts of section 1 and any other 4xx,
// and for the 503 of section 1 ("никак не связано с обработкой
// транзакций"); anything else (a 429, which the document does not have, a
// 5xx, an answer that is not the document's) leaves the outcome unknown.
func payOutcome(documented bool, status int) testcheck.Outcome {
	switch {
	case documented:
		return testcheck.Done
	case status == 503 || (status >= 400 && status < 500 && status != 429):
		return testcheck.Refused
	}
	return testcheck.Unknown
}

// checkResults: a result is a success or a pending payment only for a
// status of the document's table; any other is outcome-unknown.
func checkResults(t *testing.T, call string, res []Result) {
	t.Helper()
	for _, r := range res {
		if !r.Status.Known() && !errors.Is(r.Err(), payments.ErrOutcomeUnknown) {
			t.Fatalf("%s: status %d is not in the document's table, yet Err() = %v", call, r.Status, r.Err())
		}
	}
}

// documentedResults is the document's answer to a pay or status request for
// ids (sections 2 and 3): HTTP 200 and one JSON array holding exactly one
// object per id, whose "transactionId" is that id and whose "status" is an
// integer. An integral number written with a fraction (1000000001.0) is
// taken as that integer: the document's PHP examples send such numbers,
// and the client tolerates them on purpose.
func documentedResults(status int, body []byte, ids []int64) bool {
	var items []map[string]json.RawMessage
	if status != http.StatusOK || json.Unmarshal(body, &items) != nil || len(items) != len(ids) {
		return false
	}
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	for _, it := range items {
		id, ok := integer(it["transactionId"])
		st, isInt := integer(it["status"])
		if !ok || !isInt || st != int64(int32(st)) || !want[id] {
			return false // the document's status codes are small integers
		}
		delete(want, id)
	}
	return len(want) == 0
}

// documentedBalance is the document's answer to the balance request
// (section 4): HTTP 200 and a JSON object with integer "currentBalance" and
// "creditLimit".
func documentedBalance(status int, body []byte) bool {
	var obj map[string]json.RawMessage
	if status != http.StatusOK || json.Unmarshal(body, &obj) != nil || obj == nil {
		return false
	}
	_, cur := integer(obj["currentBalance"])
	_, lim := integer(obj["creditLimit"])
	return cur && lim
}

// integer reads a JSON number with an integral value that fits an int64,
// written in at most 200 characters (payments.ParseDecimal's bound: no
// server writes an id or a status longer) and with an exponent of at most
// three digits (so that big.Rat does not compute 10^999999999).
func integer(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 || len(raw) > 200 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	if i := bytes.IndexAny(raw, "eE"); i >= 0 {
		if exp := bytes.TrimLeft(raw[i+1:], "+-0"); len(exp) > 3 {
			return 0, false
		}
	}
	r, ok := new(big.Rat).SetString(string(raw))
	if !ok || !r.IsInt() || !r.Num().IsInt64() {
		return 0, false
	}
	return r.Num().Int64(), true
}
