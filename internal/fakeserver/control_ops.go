package fakeserver

// Key is the type of the key of a fake's records: a number (popolni's
// transaction id, royalpay's id) or a text (paykeeper's id, qiwi's txn).
type Key interface{ int64 | string }

// Records describes one kind of record a fake keeps (payments, payouts,
// invoices...) for the control operations that list, show and act on them.
// K is the key, R the record, V its JSON view.
type Records[K Key, R, V any] struct {
	// Noun names one record in errors: "payment" gives "no payment 7"
	// (a text key is quoted: "no payment \"abc\"").
	Noun string
	// Param is the name of the key's parameter, e.g. "id".
	Param string
	// All returns every record, oldest first.
	All func() []R
	// Get returns the record with a key.
	Get func(K) (R, bool)
	// View is the control API's JSON of a record.
	View func(R) V
}

// ListOp is the read operation name answering every record's view.
func (rs Records[K, R, V]) ListOp(name, doc string) ControlOp {
	return ControlOp{Name: name, Read: true, Doc: doc,
		Do: func(*Args) (any, error) { return ListViews(rs.All(), rs.View), nil }}
}

// GetOp is the read operation name answering the view of the record whose
// key is its one parameter [Records.Param], 404 when there is none.
func (rs Records[K, R, V]) GetOp(name, doc string) ControlOp {
	return ControlOp{Name: name, Params: []string{rs.Param}, Read: true, Doc: doc,
		Do: func(a *Args) (any, error) {
			k, err := rs.Key(a)
			if err != nil {
				return nil, err
			}
			return rs.Show(k)
		}}
}

// Key reads the key parameter [Records.Param] from a, returning a's
// conversion errors so far.
func (rs Records[K, R, V]) Key(a *Args) (K, error) {
	var k K
	switch p := any(&k).(type) {
	case *int64:
		*p = a.Int64(rs.Param, 0)
	case *string:
		*p = a.String(rs.Param)
	}
	return k, a.Err()
}

// Existing reads the key parameter as [Records.Key] does and returns a
// 404 error if there is no record with it.
func (rs Records[K, R, V]) Existing(a *Args) (K, error) {
	k, err := rs.Key(a)
	if err == nil {
		err = rs.Check(k)
	}
	return k, err
}

// Show answers the view of record k, or a 404 error.
func (rs Records[K, R, V]) Show(k K) (any, error) {
	r, ok := rs.Get(k)
	if !ok {
		return nil, rs.NotFound(k)
	}
	return rs.View(r), nil
}

// Found answers the view of record k if ok (the outcome of an action on
// it that reports whether k exists), else a 404 error.
func (rs Records[K, R, V]) Found(k K, ok bool) (any, error) {
	if !ok {
		return nil, rs.NotFound(k)
	}
	return rs.Show(k)
}

// Check returns a 404 error if there is no record k.
func (rs Records[K, R, V]) Check(k K) error {
	if _, ok := rs.Get(k); !ok {
		return rs.NotFound(k)
	}
	return nil
}

// NotFound is the 404 error of a missing record k.
func (rs Records[K, R, V]) NotFound(k K) error {
	if s, ok := any(k).(string); ok {
		return NotFoundf("no %s %q", rs.Noun, s)
	}
	return NotFoundf("no %s %v", rs.Noun, k)
}

// ListViews is the view of every element of rs, never nil (an empty list
// is the JSON []).
func ListViews[R, V any](rs []R, view func(R) V) []V {
	out := make([]V, len(rs))
	for i, r := range rs {
		out[i] = view(r)
	}
	return out
}

// CountOp is the operation name whose only parameter is the count n (1
// when absent, 1 to 1000), passed to f; it answers {"ok": true}.
func CountOp(name, doc string, f func(n int)) ControlOp {
	return ControlOp{Name: name, Params: []string{"n?"}, Doc: doc, Do: countOp(f)}
}

// FailOp is the operation name taking n (1), status (500, an HTTP status)
// and body (""), passed to f; it answers {"ok": true}.
func FailOp(name, doc string, f func(n, status int, body string)) ControlOp {
	return ControlOp{Name: name, Params: []string{"n?", "status?", "body?"}, Doc: doc,
		Do: func(a *Args) (any, error) {
			n, st, body := a.Count("n", 1), a.Int("status", 500), a.String("body")
			if st < 100 || st > 599 {
				return nil, BadRequestf("status: %d is not an HTTP status", st)
			}
			if err := a.Err(); err != nil {
				return nil, err
			}
			f(n, st, body)
			return nil, nil
		}}
}
