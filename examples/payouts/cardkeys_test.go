package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/pgtest"
	"github.com/paysdk/payments/ledger/storetest"
	"github.com/paysdk/payments/payout"
)

// cardCount is how many rows of rows pay to a card.
func cardCount(rows []csvRow) int {
	n := 0
	for _, r := range rows {
		if len(r.account) >= 13 {
			n++
		}
	}
	return n
}

// assertNoCardAtRest fails if dump (a store's dump, or its files' bytes)
// holds a card number of rows, or any run of 13 to 19 digits that passes
// the Luhn check, except the store's timestamps (a whole run that reads as
// a time within a day of now in ms, µs or ns since 1970: about one in ten
// of them passes the Luhn check).
func assertNoCardAtRest(t testing.TB, dump string, rows []csvRow) {
	t.Helper()
	for _, r := range rows {
		if len(r.account) >= 13 && strings.Contains(dump, r.account) {
			t.Errorf("the store keeps the card number %s of row %s in clear", payments.MaskPAN(r.account), r.ref)
		}
	}
	for _, run := range digitRuns(dump) {
		if slices.ContainsFunc(rows, func(r csvRow) bool { return r.account == run }) {
			continue // said above
		}
		if len(run) < 13 || len(run) > 19 || !payments.LuhnValid(run) || isNow(run) {
			continue
		}
		t.Errorf("the store holds %s: a run of %d digits that passes the Luhn check", payments.MaskPAN(run), len(run))
	}
}

// digitRuns returns the maximal runs of digits of s.
func digitRuns(s string) []string {
	var runs []string
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		runs = append(runs, s[i:j])
		i = j
	}
	return runs
}

// isNow reports whether run reads as a time within a day of now.
func isNow(run string) bool {
	n, err := strconv.ParseInt(run, 10, 64)
	if err != nil {
		return false
	}
	now := time.Now()
	for _, t := range []time.Time{time.UnixMilli(n), time.UnixMicro(n), time.Unix(0, n)} {
		if d := t.Sub(now); d > -24*time.Hour && d < 24*time.Hour {
			return true
		}
	}
	return false
}

func TestAssertNoCardAtRestCatches(t *testing.T) {
	rows := demoRows[1:2] // 4111111111111111
	now := strconv.FormatInt(time.Now().UnixMicro(), 10)
	for _, tc := range []struct {
		dump string
		errs int
	}{
		{"1000000002 | card | enc:v1:k:abc | " + now, 0},
		{"1000000002 | card | 4111111111111111 | " + now, 1},                      // the row's number
		{"1000000002 | card | 5555555555554444 | " + now, 1},                      // another card number
		{"x41111111111111110000", 1},                                              // the row's number inside a longer run
		{"1000000002 | 4000000000000002", 1},                                      // a Luhn-valid run not in rows
		{strconv.FormatInt(time.Now().Add(-48*time.Hour).UnixMicro(), 10), -1},    // a time long ago: only if it passes the Luhn check
		{"1000000002 | 4000000000000003 | 79161234567 | 1796600267431530 | 0", 0}, // fails the Luhn check
	} {
		rec := &recorder{TB: t}
		assertNoCardAtRest(rec, tc.dump, rows)
		want := tc.errs
		if want < 0 {
			want = 0
			if payments.LuhnValid(tc.dump) {
				want = 1
			}
		}
		assert.Len(t, rec.errs, want, "%q: %q", tc.dump, rec.errs)
		for _, e := range rec.errs {
			assert.NotContains(t, e, "4111111111111111")
		}
	}
}

// filesOf returns the bytes of every file in dir but the key file: the
// SQLite file, its WAL and its shared memory, as they lie on disk.
func filesOf(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		if e.IsDir() || strings.HasSuffix(e.Name(), keyFileSuffix) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

// The demo, with no setup: the embedded fake pays testdata/demo.csv (six
// card rows) on a fresh SQLite store, and nothing in the store (its dump,
// and the bytes of its files) holds a card number: each card row is kept
// sealed under the demo key, which the job made beside the store (mode
// 0600), never printed, and reused on a second run.
func TestDemoKeepsNoCardNumberAtRest(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "payouts.db")
	file := filepath.Join("testdata", "demo.csv")
	cards := cardCount(demoRows)
	require.Equal(t, 6, cards, "the demo file has card rows")

	r := runJob(t, file, map[string]string{"PAYMENTS_STORE": store}, hooks{})
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	require.True(t, strings.HasSuffix(r.out, "payouts: all 12 rows final: 12 succeeded, 0 failed\n"), r.out)

	fi, err := os.Stat(store + keyFileSuffix)
	require.NoError(t, err, "no demo key file beside the store")
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	key, err := os.ReadFile(store + keyFileSuffix)
	require.NoError(t, err)
	keys := fileKeys(t, store)
	assert.True(t, strings.HasPrefix(keys.current, "demo-"), keys.current)
	secret := base64.StdEncoding.EncodeToString(keys.keys[keys.current])

	dump := storetest.DumpSQLite(t, store)
	t.Logf("the store's dump:\n%s", payments.MaskPAN(dump))
	assertNoCardAtRest(t, dump, demoRows)
	assertNoCardAtRest(t, filesOf(t, dir), demoRows)
	assert.Equal(t, cards, strings.Count(dump, "| card | enc:v1:"+keys.current+":"), "each card row sealed under the demo key")
	assert.NotContains(t, dump, secret, "the key is in the store")
	assert.NotContains(t, r.out+r.errOut, secret, "the key was printed")
	assert.NotContains(t, r.out+r.errOut, "cardkey", "the demo output changed")

	// The records open with the key in the file and hold the file's rows.
	recs := opened(t, listStore(t, store), keys)
	require.Len(t, recs, len(demoRows))
	for i, rec := range recs {
		assert.Equal(t, demoRows[i].account, rec.To.Account, rec.Ref)
	}

	// A second run reads the same key (else the sealed records would not
	// open and it would fail) and leaves it as it was.
	r = runJob(t, file, map[string]string{"PAYMENTS_STORE": store}, hooks{})
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assert.Contains(t, r.out, "payouts: 12 rows, 0 new in the ledger, paying through popolni\n")
	again, err := os.ReadFile(store + keyFileSuffix)
	require.NoError(t, err)
	assert.Equal(t, key, again, "the demo key changed")
}

// The demo on an in-memory store gets a key as short-lived as the store:
// no key file (it would be ":memory:.cardkey" in the working folder).
func TestDemoInMemoryMakesNoKeyFile(t *testing.T) {
	r := runJob(t, filepath.Join("testdata", "demo.csv"), map[string]string{"PAYMENTS_STORE": ":memory:"}, hooks{})
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	require.True(t, strings.HasSuffix(r.out, "payouts: all 12 rows final: 12 succeeded, 0 failed\n"), r.out)
	for _, name := range []string{":memory:" + keyFileSuffix, ":memory:" + keyFileSuffix + ".tmp", ":memory:"} {
		_, err := os.Stat(name)
		assert.True(t, errors.Is(err, os.ErrNotExist), "%s: %v", name, err)
	}
}

// The demo against a PostgreSQL store: the embedded fake keeps no key
// beside a postgres:// store, so without PAYOUTS_CARD_KEYS its card rows
// are refused before anything is recorded; with it, nothing in the
// database holds a card number.
func TestDemoOnPostgresKeepsNoCardNumberAtRest(t *testing.T) {
	dsn := pgtest.DSN(t)
	file := filepath.Join("testdata", "demo.csv")

	r := runJob(t, file, map[string]string{"PAYMENTS_STORE": dsn}, hooks{})
	assert.Equal(t, exitUsage, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assert.Empty(t, r.out)
	assert.Contains(t, r.errOut, "payouts: 6 card rows in "+file+" and no PAYOUTS_CARD_KEYS (the demo key of the embedded fake is kept beside a SQLite store only): nothing was paid")
	assert.Empty(t, listPG(t, dsn), "rows were recorded")

	r = runJob(t, file, map[string]string{"PAYMENTS_STORE": dsn, cardKeysEnv: testCardKeys}, hooks{})
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	require.True(t, strings.HasSuffix(r.out, "payouts: all 12 rows final: 12 succeeded, 0 failed\n"), r.out)
	dump := storetest.DumpPostgres(t, dsn)
	t.Logf("the store's dump:\n%s", payments.MaskPAN(dump))
	assertNoCardAtRest(t, dump, demoRows)
	assert.Equal(t, cardCount(demoRows), strings.Count(dump, "| card | enc:v1:test-2:"), "each card row sealed under the current key")
	recs := opened(t, listPG(t, dsn), mustKeys(t, testCardKeys))
	require.Len(t, recs, len(demoRows))
	for i, rec := range recs {
		assert.Equal(t, demoRows[i].account, rec.To.Account, rec.Ref)
	}
}

// Against a real provider without PAYOUTS_CARD_KEYS, a file with card
// rows is refused whole before anything is opened, each card row named by
// its line, the variable named; a file of phones only is paid.
func TestCardRowsWithoutKeysPayNothing(t *testing.T) {
	srv := newFake(t)
	dir := t.TempDir()
	store, file := filepath.Join(dir, "payouts.db"), filepath.Join(dir, "payouts.csv")
	writeCSV(t, file, demoRows)
	env := fakeEnv(srv, store)
	delete(env, cardKeysEnv)
	r := runJob(t, file, env, fakeHooks(t, srv))
	assert.Equal(t, exitUsage, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assert.Empty(t, r.out)
	var want []string
	for _, line := range []int{3, 5, 7, 9, 11, 13} {
		want = append(want, fmt.Sprintf("%s:%d: a card number, and PAYOUTS_CARD_KEYS is not set: the ledger stores card numbers only encrypted, with your key", file, line))
	}
	want = append(want, "payouts: 6 card rows in "+file+" and no PAYOUTS_CARD_KEYS: nothing was paid; set PAYOUTS_CARD_KEYS=id:key (key: 32 random bytes in base64, e.g. openssl rand -base64 32) and run again")
	assert.Equal(t, strings.Join(want, "\n")+"\n", r.errOut)
	assertNoCardRun(t, r.out+r.errOut)
	assert.Empty(t, srv.Requests(), "the provider was asked something")
	_, err := os.Stat(store)
	assert.True(t, errors.Is(err, os.ErrNotExist), "the store was made: %v", err)
	_, err = os.Stat(store + keyFileSuffix)
	assert.True(t, errors.Is(err, os.ErrNotExist), "a demo key was made for a real provider: %v", err)

	var phones []csvRow
	for _, row := range demoRows {
		if len(row.account) < 13 {
			phones = append(phones, row)
		}
	}
	writeCSV(t, file, phones)
	r = runJob(t, file, env, fakeHooks(t, srv))
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assertPaidOnce(t, srv, phones, nil)
	_, err = os.Stat(store + keyFileSuffix)
	assert.True(t, errors.Is(err, os.ErrNotExist), "a demo key was made for a real provider: %v", err)
}

// A malformed PAYOUTS_CARD_KEYS is refused before anything is opened, with
// what is wrong and where, and never a key or a part of one.
func TestMalformedCardKeysRefused(t *testing.T) {
	const (
		k1 = "iPjegQSgclDHAtKNbm457kiUgRvmsqrm6gqr12fSGEA="
		k2 = "mXKsHfYaH6FWyt+UxqLrbkIE++Oz05dBzeEiOfh93uY="
	)
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 16))
	for _, tc := range []struct{ name, value, want string }{
		{"a key alone", k1, "PAYOUTS_CARD_KEYS: entry 1 is not of the form id:key (the key id, a colon, the key in base64)"},
		{"key and id swapped", k1 + ":k1", "PAYOUTS_CARD_KEYS: entry 1: the key id before the colon must be 1 to 32 letters, digits, '-' or '_'"},
		{"a raw key as the id", "k1:" + k1 + "," + strings.Repeat("Q", 32) + "x:" + k2, "PAYOUTS_CARD_KEYS: entry 2: the key id before the colon"},
		{"a short key", "k1:" + short, "PAYOUTS_CARD_KEYS: key k1 is 16 bytes: want 32 random bytes (AES-256) in base64"},
		{"not base64", "k1:" + k1[:20] + "!" + k1[21:], "PAYOUTS_CARD_KEYS: key k1 is not base64"},
		{"a hex key", "k1:" + strings.Repeat("ab", 32), "PAYOUTS_CARD_KEYS: key k1 is 48 bytes"},
		{"an id twice", "k1:" + k1 + ",k1:" + k2, "PAYOUTS_CARD_KEYS: key id k1 twice"},
		{"an empty entry", "k1:" + k1 + ",", "PAYOUTS_CARD_KEYS: entry 2 is empty"},
		{"an empty id", ":" + k1, "PAYOUTS_CARD_KEYS: entry 1: the key id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			dir := t.TempDir()
			store, file := filepath.Join(dir, "payouts.db"), filepath.Join(dir, "payouts.csv")
			writeCSV(t, file, demoRows[:2])
			env := fakeEnv(srv, store)
			env[cardKeysEnv] = tc.value
			r := runJob(t, file, env, fakeHooks(t, srv))
			assert.Equal(t, exitUsage, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
			assert.Contains(t, r.errOut, tc.want)
			assert.True(t, strings.HasSuffix(r.errOut, ": nothing was paid\n"), r.errOut)
			for _, secret := range []string{k1, k2, short, strings.Repeat("ab", 32)} {
				for i := 0; i+8 <= len(secret); i++ { // not even 8 characters of a key
					if strings.Contains(r.out+r.errOut, secret[i:i+8]) {
						t.Fatalf("the error shows part of a key (%d..%d): %s", i, i+8, strings.ReplaceAll(r.errOut, secret[i:i+8], "<KEY>"))
					}
				}
			}
			assert.Empty(t, srv.Requests(), "the provider was asked something")
			_, err := os.Stat(store)
			assert.True(t, errors.Is(err, os.ErrNotExist), "the store was made: %v", err)
		})
	}

	// Every base64 alphabet, padded or not; spaces around entries.
	k, err := parseKeys(" a:"+k1+" , b:"+strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(k2), "="), cardKeysEnv)
	require.NoError(t, err)
	assert.Equal(t, "a", k.current)
	assert.Len(t, k.keys, 2)
	raw, _ := base64.StdEncoding.DecodeString(k2)
	assert.Equal(t, raw, k.keys["b"])
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		s := fmt.Sprintf(verb, k)
		assert.NotContains(t, s, fmt.Sprintf("%x", raw[:8]), verb)
		assert.NotContains(t, s, fmt.Sprint(raw[:4]), verb)
		assert.NotContains(t, s, k1[:8], verb)
	}
}

// Keys rotate: records sealed under the old key open when it is listed
// after the new one, new records are sealed under the new one; without
// the old key the job stops, naming the key id it wants (never a key),
// and pays nothing.
func TestCardKeyRotation(t *testing.T) {
	const (
		oldKeys = "old:iPjegQSgclDHAtKNbm457kiUgRvmsqrm6gqr12fSGEA="
		newKey  = "new:mXKsHfYaH6FWyt+UxqLrbkIE++Oz05dBzeEiOfh93uY="
	)
	srv := newFake(t)
	dir := t.TempDir()
	store, file := filepath.Join(dir, "payouts.db"), filepath.Join(dir, "payouts.csv")
	env := fakeEnv(srv, store)

	first := demoRows[:4]
	writeCSV(t, file, first)
	env[cardKeysEnv] = oldKeys
	r := runJob(t, file, env, fakeHooks(t, srv))
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)

	all := demoRows[:8]
	writeCSV(t, file, all)
	env[cardKeysEnv] = newKey + "," + oldKeys
	srv.Reset()
	r = runJob(t, file, env, fakeHooks(t, srv))
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assert.Contains(t, r.out, "payouts: 8 rows, 4 new in the ledger, paying through popolni\n")
	assertPaidOnce(t, srv, all, nil)

	raw := listStore(t, store)
	for _, rec := range raw {
		if rec.To.Kind != payout.Card {
			continue
		}
		want := "enc:v1:new:"
		if rec.Ref <= first[len(first)-1].ref {
			want = "enc:v1:old:"
		}
		assert.True(t, strings.HasPrefix(rec.To.Account, want), "%s: %.20s", rec.Ref, rec.To.Account)
	}
	assertLedgerFinal(t, opened(t, raw, mustKeys(t, newKey+","+oldKeys)), all, nil)
	assertNoCardAtRest(t, storetest.DumpSQLite(t, store), all)

	// The old key dropped too early.
	env[cardKeysEnv] = newKey
	srv.Reset()
	r = runJob(t, file, env, fakeHooks(t, srv))
	assert.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assert.Contains(t, r.errOut, `no key "old" among those given`)
	assert.Contains(t, r.errOut, "give every key in PAYOUTS_CARD_KEYS")
	assert.NotContains(t, r.out+r.errOut, "iPjegQSg")
	assert.NotContains(t, r.out+r.errOut, "mXKsHfYa")
	assert.Empty(t, srv.Requests(), "the provider was asked something")
	assert.Equal(t, raw, listStore(t, store), "the ledger changed")
}

// A demo key file that others may read is refused, and nothing is paid.
func TestDemoKeyFileReadableByOthers(t *testing.T) {
	store := filepath.Join(t.TempDir(), "payouts.db")
	file := filepath.Join("testdata", "demo.csv")
	require.NoError(t, os.WriteFile(store+keyFileSuffix, []byte("demo-1:iPjegQSgclDHAtKNbm457kiUgRvmsqrm6gqr12fSGEA=\n"), 0o600))
	require.NoError(t, os.Chmod(store+keyFileSuffix, 0o644))
	r := runJob(t, file, map[string]string{"PAYMENTS_STORE": store}, hooks{})
	assert.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assert.Contains(t, r.errOut, "payouts: the demo card key file "+store+keyFileSuffix+" may be read by others (mode 0644): chmod 600 it\n")
	assert.NotContains(t, r.out+r.errOut, "iPjegQSg")
	assert.NotContains(t, r.out, "final:")
	assert.Empty(t, listStore(t, store), "rows were recorded")

	require.NoError(t, os.Chmod(store+keyFileSuffix, 0o600))
	r = runJob(t, file, map[string]string{"PAYMENTS_STORE": store}, hooks{})
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assert.Equal(t, cardCount(demoRows), strings.Count(storetest.DumpSQLite(t, store), "| card | enc:v1:demo-1:"), "sealed under the key of the file")
}

// The demo killed (SIGKILL) at random points: on fresh stores at random
// times of its start-up (up to twice the time it took to make its key
// file), then on one store again and again once its key file is there.
// After every kill a run on the same store finds a whole key file or none,
// the same key as before, and opens every record sealed before the kill.
func TestDemoKilledKeepsItsKey(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the demo: not in -short")
	}
	file, err := filepath.Abs(filepath.Join("testdata", "demo.csv"))
	require.NoError(t, err)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))

	// killed starts the demo on store, kills it when kill (given the
	// time since its start and whether the key file is there) says so,
	// and returns the key file's bytes then (nil: none).
	killed := func(store string, kill func(since time.Duration, haveKey bool) bool) []byte {
		c := startChild(t, childSpec{file: file, store: store, demo: true})
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
	wait:
		for {
			select {
			case <-c.done:
				break wait
			case <-tick.C:
				_, err := os.Stat(store + keyFileSuffix)
				if kill(time.Since(c.start), err == nil) {
					c.kill()
					break wait
				}
			}
		}
		assertNoFullCard(t, c.out.String(), demoRows, false)
		if c.cmd.ProcessState.Exited() {
			require.NoError(t, c.err, "a child ended by itself with an error; its output:\n%s", c.out)
		}
		b, err := os.ReadFile(store + keyFileSuffix)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		require.NoError(t, err)
		return b
	}

	// How long the demo takes to make its key file.
	calib := filepath.Join(t.TempDir(), "payouts.db")
	var keyAt time.Duration
	require.NotNil(t, killed(calib, func(since time.Duration, haveKey bool) bool {
		keyAt = since
		return haveKey
	}), "no key file")
	t.Logf("the key file was there %v after the start", keyAt.Round(time.Millisecond))

	before := 0
	for i := 0; i < 4; i++ {
		dir := t.TempDir()
		store := filepath.Join(dir, "payouts.db")
		at := time.Duration(rng.Int64N(int64(2 * keyAt)))
		key := killed(store, func(since time.Duration, _ bool) bool { return since >= at })
		if key == nil {
			before++
		}
		resumeDemo(t, file, store, key)
	}
	t.Logf("%d of 4 start-up kills before the key file was made", before)

	dir := t.TempDir()
	store := filepath.Join(dir, "payouts.db")
	var key []byte
	for i := 0; i < 5; i++ {
		var jitter time.Duration = -1
		got := killed(store, func(since time.Duration, haveKey bool) bool {
			if haveKey && jitter < 0 {
				jitter = since + time.Duration(rng.Int64N(int64(200*time.Millisecond)))
			}
			return jitter >= 0 && since >= jitter
		})
		require.NotNil(t, got)
		if key == nil {
			key = got
		}
		require.Equal(t, key, got, "the demo key changed after a kill")
	}
	resumeDemo(t, file, store, key)
	assertNoCardAtRest(t, storetest.DumpSQLite(t, store), demoRows)
	assertNoCardAtRest(t, filesOf(t, dir), demoRows)
}

// resumeDemo runs the demo on store in this process until it has recorded
// the file (a payout a killed demo's embedded fake had accepted stays
// pending: that fake died with it), then checks the key file: the same as
// key when key is not nil, opening every record, all of the file's rows,
// no temporary file left.
func resumeDemo(t testing.TB, file, store string, key []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	env := map[string]string{"PAYMENTS_STORE": store}
	go func() {
		done <- run(ctx, []string{file}, func(k string) string { return env[k] }, &out, &errOut, hooks{ledger: fastLedger})
	}()
	var code int
	for stopped := false; ; {
		select {
		case code = <-done:
		case <-time.After(5 * time.Millisecond):
			if !stopped && strings.Contains(out.String(), " new in the ledger, paying through popolni\n") {
				stopped = true
				cancel()
			}
			continue
		}
		break
	}
	require.Contains(t, out.String(), "payouts: 12 rows, ", "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	if code != exitOK {
		require.Equal(t, exitError, code)
		require.Contains(t, errOut.String(), "payouts: stopped before every row was final", "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	assert.NotContains(t, errOut.String(), "does not open")
	b, err := os.ReadFile(store + keyFileSuffix)
	require.NoError(t, err)
	if key != nil {
		require.Equal(t, key, b, "the demo key changed")
	}
	recs := opened(t, listStore(t, store), fileKeys(t, store))
	require.Len(t, recs, len(demoRows))
	for i, rec := range recs {
		assert.Equal(t, demoRows[i].account, rec.To.Account, rec.Ref)
	}
	_, err = os.Stat(store + keyFileSuffix + ".tmp")
	assert.True(t, errors.Is(err, os.ErrNotExist), "a temporary key file is left: %v", err)
}
