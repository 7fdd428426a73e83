package royalpaypayin_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// TestReturnURLGoesAsRedirectURL: payin's ReturnURL reaches RoyalPay as
// redirect_url; without it no redirect field is sent.
func TestReturnURLGoesAsRedirectURL(t *testing.T) {
	s := newSetup(t, fastOptions())
	r := request()
	r.ReturnURL = "https://shop.example/paid?order=1"
	_, err := s.c.Create(context.Background(), r)
	require.NoError(t, err)
	r = request()
	_, err = s.c.Create(context.Background(), r)
	require.NoError(t, err)
	var bodies []map[string]any
	for _, rq := range s.srv.Requests() {
		if rq.Op == royalpaytest.OpCreate {
			var m map[string]any
			require.NoError(t, json.Unmarshal(rq.Body, &m))
			bodies = append(bodies, m)
		}
	}
	require.Len(t, bodies, 2)
	assert.Equal(t, "https://shop.example/paid?order=1", bodies[0]["redirect_url"])
	assert.NotContains(t, bodies[1], "redirect_url")
	assert.NotContains(t, bodies[1], "success_redirect_url")
}
