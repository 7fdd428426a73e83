package ledger_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/pgtest"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/ledger/storetest"
	"github.com/paysdk/payments/payout"
)

var cardRun = regexp.MustCompile(`[0-9]{13,19}`)

// noCardIn fails when text holds a 13-19 digit run that passes the Luhn
// check: a card number in clear. Times stored as unix microseconds (16
// digits) are told apart by their value.
func noCardIn(t *testing.T, what, text string) {
	t.Helper()
	for _, m := range cardRun.FindAllString(text, -1) {
		if v, err := strconv.ParseInt(m, 10, 64); err == nil && len(m) == 16 &&
			time.UnixMicro(v).After(time.Now().AddDate(-10, 0, 0)) && time.UnixMicro(v).Before(time.Now().AddDate(10, 0, 0)) {
			continue
		}
		assert.False(t, payments.LuhnValid(m), "%s holds a card number in clear: %s", what, payments.MaskPAN(m))
	}
}

func key32(t testing.TB) []byte {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

// TestNoCardNumberAtRest is item 5: after card payouts (one of them failed
// with a provider text quoting the number), a dump of every table of both
// stores shows no full card number, and the records read back through the
// ledger pay the right card.
func TestNoCardNumberAtRest(t *testing.T) {
	cards := []string{"4111111111111111", "5500005555555559", "2200000000000004"}
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			var s ledger.Store
			var dump func() string
			switch kind {
			case "sqlite":
				path := filepath.Join(t.TempDir(), "ledger.db")
				ss, err := sqlitestore.Open(context.Background(), path)
				require.NoError(t, err)
				t.Cleanup(func() { ss.Close() })
				s, dump = ss, func() string { return storetest.DumpSQLite(t, path) }
			case "postgres":
				dsn := pgtest.DSN(t)
				ps, err := pgstore.Open(context.Background(), dsn, pgstore.Options{})
				require.NoError(t, err)
				t.Cleanup(func() { ps.Close() })
				s, dump = ps, func() string { return storetest.DumpPostgres(t, dsn) }
			}
			srv, pc := popolniFake(t)
			srv.FailAccount(cards[2], 101) // a refusal whose text the ledger keeps
			l, err := ledger.New(s, fast(ledger.Options{}), pc)
			require.NoError(t, err)
			var reqs []payout.Request
			for i, c := range cards {
				reqs = append(reqs, payout.Request{Ref: "100000100" + string(rune('1'+i)), Amount: rub(20000),
					To: payout.Destination{Kind: payout.Card, Account: c}})
			}
			_, err = l.Submit(context.Background(), reqs...)
			require.NoError(t, err)
			running(t, l)
			waitFinal(t, s, 30*time.Second)
			d := dump()
			require.Contains(t, d, "enc:v1:test-1:", "the dump shows the sealed accounts")
			for _, c := range cards {
				assert.NotContains(t, d, c)
			}
			noCardIn(t, "the store", d)
			// What was paid is the card itself.
			for _, p := range srv.Payments() {
				assert.Contains(t, cards, p.Msisdn)
			}
			got, err := l.List(context.Background(), ledger.Filter{})
			require.NoError(t, err)
			for i, r := range got {
				assert.Equal(t, cards[i], r.To.Account, "the ledger opens what it sealed")
				j, err := json.Marshal(r)
				require.NoError(t, err)
				noCardIn(t, "a record's JSON", string(j))
				noCardIn(t, "a record's text", r.String()+r.Message+r.LastError)
			}
		})
	}
}

// TestCardsRequireProtection: without Options.Cards a card payout is
// refused before anything is recorded, naming the option; phones are not
// cards and go through.
func TestCardsRequireProtection(t *testing.T) {
	_, pc := popolniFake(t)
	s := eachStoreSQLite(t)
	l, err := ledger.New(s, ledger.Options{}, pc)
	require.NoError(t, err)
	_, err = l.Submit(context.Background(), payout.Request{Ref: "1000002001", Amount: rub(10000),
		To: payout.Destination{Kind: payout.Card, Account: "4111111111111111"}})
	require.ErrorIs(t, err, payments.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "ledger.Options.Cards")
	n, err := s.Count(context.Background())
	require.NoError(t, err)
	assert.Empty(t, n, "nothing recorded")
	_, err = l.Submit(context.Background(), payout.Request{Ref: "1000002002", Amount: rub(10000),
		To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}})
	require.NoError(t, err)
}

// TestAESGCMRotatesAndRefusesTampering: records sealed under an old key
// open after a rotation while the old key is kept; a value copied to
// another ref, altered, or under a dropped key does not open.
func TestAESGCMRotatesAndRefusesTampering(t *testing.T) {
	ctx := context.Background()
	k1, k2 := key32(t), key32(t)
	old, err := ledger.NewAESGCM("k1", map[string][]byte{"k1": k1})
	require.NoError(t, err)
	sealed, err := old.Seal(ctx, "1", "4111111111111111")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(sealed, "enc:v1:k1:"))
	assert.NotContains(t, sealed, "4111111111111111")
	again, _ := old.Seal(ctx, "1", "4111111111111111")
	assert.NotEqual(t, sealed, again, "a fresh nonce every time")

	rotated, err := ledger.NewAESGCM("k2", map[string][]byte{"k1": k1, "k2": k2})
	require.NoError(t, err)
	pan, err := rotated.Open(ctx, "1", sealed)
	require.NoError(t, err)
	assert.Equal(t, "4111111111111111", pan)
	s2, _ := rotated.Seal(ctx, "1", pan)
	assert.True(t, strings.HasPrefix(s2, "enc:v1:k2:"))

	_, err = rotated.Open(ctx, "2", sealed)
	assert.ErrorIs(t, err, ledger.ErrSealed, "bound to its ref")
	b := []byte(sealed)
	b[len(b)-2] ^= 1
	_, err = rotated.Open(ctx, "1", string(b))
	assert.ErrorIs(t, err, ledger.ErrSealed, "altered")
	dropped, _ := ledger.NewAESGCM("k2", map[string][]byte{"k2": k2})
	_, err = dropped.Open(ctx, "1", sealed)
	assert.ErrorIs(t, err, ledger.ErrSealed, "key gone")
	_, err = dropped.Open(ctx, "1", "4111111111111111")
	assert.ErrorIs(t, err, ledger.ErrSealed)

	for name, keys := range map[string]map[string][]byte{
		"short key": {"a": k1[:16]}, "bad id": {"a b": k1}, "no current": {"other": k1},
	} {
		_, err := ledger.NewAESGCM("a", keys)
		assert.ErrorIs(t, err, payments.ErrInvalidRequest, name)
		if err != nil {
			assert.NotContains(t, err.Error(), string(k1), name)
		}
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := sprintf(verb, rotated)
		assert.Equal(t, "ledger.AESGCM{current key k2}", out, verb)
	}
}

func sprintf(verb string, v any) string { return fmt.Sprintf(verb, v) }
