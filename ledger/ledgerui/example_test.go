package ledgerui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/paysdk/payments/ledger/ledgerui"
	"github.com/paysdk/payments/ledger/sqlitestore"
)

// The two ways to protect the page: its own token, or the merchant's
// authentication middleware in front of it (Token left empty).
func Example() {
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, sqlitestore.Memory) // the merchant's ledger
	if err != nil {
		panic(err)
	}
	defer store.Close()

	// 1. A token: "Authorization: Bearer <token>", or ?token=<token> once
	// (an HttpOnly cookie then carries it).
	withToken, err := ledgerui.New(store, ledgerui.Options{Token: "a-long-random-token-from-your-secrets"})
	if err != nil {
		panic(err)
	}

	// 2. The merchant's own authentication in front (here: a header its
	// single sign-on proxy sets).
	page, err := ledgerui.New(store, ledgerui.Options{})
	if err != nil {
		panic(err)
	}
	operatorsOnly := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Operator") == "" {
				http.Error(w, "operators only", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}

	mux := http.NewServeMux()
	mux.Handle("/admin/ledger/", http.StripPrefix("/admin/ledger", withToken))
	mux.Handle("/ops/ledger/", http.StripPrefix("/ops/ledger", operatorsOnly(page)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(path, header, value string) int {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if header != "" {
			req.Header.Set(header, value)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	fmt.Println("token, none:", get("/admin/ledger/", "", ""))
	fmt.Println("token, bearer:", get("/admin/ledger/", "Authorization", "Bearer a-long-random-token-from-your-secrets"))
	fmt.Println("middleware, none:", get("/ops/ledger/", "", ""))
	fmt.Println("middleware, operator:", get("/ops/ledger/", "X-Operator", "ana"))
	// Output:
	// token, none: 401
	// token, bearer: 200
	// middleware, none: 403
	// middleware, operator: 200
}
