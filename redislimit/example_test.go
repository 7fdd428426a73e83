package redislimit_test

import (
	"context"
	"errors"
	"log"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/redislimit"
	"github.com/redis/go-redis/v9"
)

// One limit for every replica on one popolni account: each process makes
// the same Limiter (same Redis, same key, same rate) and gives it to its
// client. It needs a Redis, so it is not run as a test.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()

	const account = "merchant-42"
	lim, err := redislimit.New(rdb, "payments:limit:popolni:"+account, payments.DefaultRate, payments.DefaultBurst)
	if err != nil {
		log.Fatal(err)
	}
	// Give it to the account's clients, e.g. popolni.New(creds, opt): every
	// attempt of every call waits on it first, and a refusal fails the call
	// before anything is sent. The client also tells it of popolni's 503
	// (payments.RefusalObserver): every replica then slows down.
	opt := payments.WithLimiter(lim)
	_ = opt

	// Or wait on it directly before a request of your own:

	if err := lim.Wait(context.Background()); err != nil {
		switch {
		case errors.Is(err, redislimit.ErrUnavailable):
			// Redis unreachable or slow: nothing was sent. The call fails
			// like one to an unreachable provider (payments.ErrUnavailable);
			// try again later, the limiter recovers by itself.
			log.Print(err)
		default:
			log.Print(err) // the context ended
		}
		return
	}
	// Allowed: send one request now.
}
