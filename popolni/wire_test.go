package popolni

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fast paths of wire.go answer as the general decoders do, or step
// aside: an answer they accept means the same to encoding/json.
var scanSeeds = []string{
	`[{"transactionId":1000000001,"status":0}]`,
	` [ {"transactionId" : 1000000001 , "status" : -1 } ,{"status":124,"transactionId":7}] `,
	"[\n\t{\"transactionId\":1,\"status\":3}\r\n]",
	`[]`, `[ ]`, `null`, `{}`, `[{}]`, `[null]`, ``,
	`[{"transactionId":1000000001.0,"status":0}]`,
	`[{"transactionId":1e9,"status":0}]`,
	`[{"transactionId":01,"status":0}]`,
	`[{"transactionId":-0,"status":0}]`,
	`[{"transactionId":1,"status":0,"status":2}]`,
	`[{"transactionId":1,"transactionId":2,"status":0}]`,
	`[{"transactionId":1,"status":0,"x":1}]`,
	`[{"transactionId":1}]`,
	`[{"TransactionID":1,"status":0}]`,
	`[{"transaction\u0049d":1,"status":0}]`,
	`[{"transactionId":"1","status":0}]`,
	`[{"transactionId":1,"status":4294967296}]`,
	`[{"transactionId":1,"status":-2147483648}]`,
	`[{"transactionId":1,"status":2147483648}]`,
	`[{"transactionId":9223372036854775807,"status":0}]`,
	`[{"transactionId":9223372036854775808,"status":0}]`,
	`[{"transactionId":1,"status":0}]x`,
	`[{"transactionId":1,"status":0},]`,
	`[{"transactionId":1,"status":0}`,
	`[{"transactionId":1,"status":0}][]`,
	`[{"transactionId":-,"status":0}]`,
	`{"currentBalance":100,"creditLimit":0}`,
	` { "creditLimit" : -5 , "currentBalance" : 9223372036854775807 } `,
	`{"currentBalance":100.0,"creditLimit":0}`,
	`{"currentBalance":100,"creditLimit":0,"x":1}`,
	`{"currentBalance":100}`,
	`{"currentBalance":100,"currentBalance":1}`,
	`{"currentBalance":1,"creditLimit":2}]`,
	"{\"currentBalance\":1,\"creditLimit\":2}\u00a0",
}

func checkScan(t *testing.T, body []byte) {
	if got, ok := scanResults(body); ok {
		want, err := decodeResultsJSON(body)
		require.NoError(t, err, "%q: the fast path accepted what the general decoder refuses", body)
		assert.Equal(t, want, got, "%q", body)
	}
	if got, ok := scanBalance(body); ok {
		want, err := decodeBalanceJSON(body)
		require.NoError(t, err, "%q: the fast path accepted what the general decoder refuses", body)
		assert.Equal(t, want, got, "%q", body)
	}
}

func TestScanAgreesWithJSON(t *testing.T) {
	taken := 0
	for _, s := range scanSeeds {
		checkScan(t, []byte(s))
		if _, ok := scanResults([]byte(s)); ok {
			taken++
		}
		if _, ok := scanBalance([]byte(s)); ok {
			taken++
		}
	}
	// The document's answers do take the fast path.
	assert.Equal(t, 10, taken)
	got, ok := scanResults([]byte(` [ {"transactionId" : 1000000001 , "status" : -1 } ,{"status":124,"transactionId":7}] `))
	require.True(t, ok)
	assert.Equal(t, []Result{{ID: 1000000001, Status: -1}, {ID: 7, Status: 124}}, got)
	b, ok := scanBalance([]byte(` { "creditLimit" : -5 , "currentBalance" : 9223372036854775807 } `))
	require.True(t, ok)
	assert.Equal(t, Balance{Current: 9223372036854775807, CreditLimit: -5}, b)
}

func FuzzScanAgreesWithJSON(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkScan(t, body) })
}

// encodeSeeds are FuzzEncodeAsJSON's seeds: id, amount, account, notice
// phone, template.
var encodeSeeds = []struct {
	id, amount      int64
	account, notice string
	template        int64
}{
	{1000000001, 500, "380991234567", "", 5},
	{1, 100, "4276123412341234", "380991234567", 0},
	{9223372036854775807, 9223372036854775807, "0", "", 9223372036854775807},
}

// seedBatch is the batch FuzzEncodeAsJSON encodes: the fuzzed payment and a
// plain one with another id.
func seedBatch(id, amount int64, account, notice string, template int64) []Payment {
	other := id - 1
	if id <= 1 {
		other = id + 1
	}
	return []Payment{{ID: id, Amount: amount, Account: account, NoticePhone: notice, TemplateID: template},
		{ID: other, Amount: MinAmount, Account: "380991234567"}}
}

// The seeds are batches encodePay accepts, so the fuzz target compares
// something from its first run (a seed it refuses compares nothing).
func TestEncodeSeedsAreValidBatches(t *testing.T) {
	for _, s := range encodeSeeds {
		_, err := encodePay(seedBatch(s.id, s.amount, s.account, s.notice, s.template))
		require.NoError(t, err, "%+v", s)
	}
}

// The request bodies are byte for byte what encoding/json writes.
func FuzzEncodeAsJSON(f *testing.F) {
	for _, s := range encodeSeeds {
		f.Add(s.id, s.amount, s.account, s.notice, s.template)
	}
	f.Fuzz(func(t *testing.T, id, amount int64, account, notice string, template int64) {
		batch := seedBatch(id, amount, account, notice, template)
		other := batch[1].ID
		got, err := encodePay(batch)
		if err != nil {
			return // refused: nothing is written
		}
		wire := []wirePayment{{TransactionID: id, Amount: amount, MsisdnNotice: notice, Msisdn: account, TemplateID: template},
			{TransactionID: other, Amount: MinAmount, Msisdn: "380991234567"}}
		want, err := json.Marshal(wire)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got))

		ids := []int64{id, id, amount, template}
		q := []wireStatusQuery{}
		for _, x := range distinct(ids) {
			q = append(q, wireStatusQuery{TransactionID: x})
		}
		want, err = json.Marshal(q)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(appendStatusQuery(nil, distinct(ids))))
	})
}

// inOrder's shortcut gives what its general path gives.
func TestInOrderShortcut(t *testing.T) {
	res := func(ids ...int64) []Result {
		out := make([]Result, len(ids))
		for i, id := range ids {
			out[i] = Result{ID: id, Status: Status(id % 7)}
		}
		return out
	}
	many := make([]int64, 40)
	for i := range many {
		many[i] = int64(i + 1)
	}
	for _, tc := range []struct {
		ids []int64
		got []Result
		err bool
	}{
		{[]int64{1}, res(1), false},
		{[]int64{1, 2, 3}, res(1, 2, 3), false},
		{[]int64{1, 2, 3}, res(3, 1, 2), false},
		{[]int64{1, 1}, res(1), false},
		{[]int64{1, 1}, res(1, 1), true},
		{[]int64{1, 2}, res(1, 2, 3), true},
		{[]int64{1, 2}, res(1), true},
		{[]int64{1, 2}, res(1, 3), true},
		{many, res(many...), false},
	} {
		got, err := inOrder(tc.ids, tc.got)
		if tc.err {
			assert.Error(t, err, "%v %v", tc.ids, tc.got)
			continue
		}
		require.NoError(t, err)
		require.Len(t, got, len(tc.ids))
		for i, id := range tc.ids {
			assert.Equal(t, Result{ID: id, Status: Status(id % 7)}, got[i])
		}
	}
	assert.Equal(t, []int64{1, 2}, distinct([]int64{1, 2, 1, 2}))
	assert.Equal(t, many, distinct(append(append([]int64(nil), many...), many...)))
	assert.Equal(t, strconv.Itoa(len(many)), strconv.Itoa(len(distinct(many))))
}

// refOf names up to 8 ids and counts the rest.
func TestRefOf(t *testing.T) {
	assert.Equal(t, "", refOf(nil))
	assert.Equal(t, "1000000001", refOf([]int64{1000000001}))
	assert.Equal(t, "1,2,3,4,5,6,7,8", refOf([]int64{1, 2, 3, 4, 5, 6, 7, 8}))
	assert.Equal(t, "1,2,3,4,5,6,7,8,…(12 more)", refOf([]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}))
}
