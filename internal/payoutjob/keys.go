package payoutjob

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
)

// CardKeysEnv holds the keys the ledger seals card numbers with:
// id:base64key entries, comma-separated, the first the current one.
const CardKeysEnv = "PAYOUTS_CARD_KEYS"

// KeyFileSuffix names the demo key file beside a SQLite store.
const KeyFileSuffix = ".cardkey"

// memoryStore is sqlitestore.Memory (the package does not import the
// stores; a test checks the two agree).
const memoryStore = ":memory:"

// Keyring is a parsed PAYOUTS_CARD_KEYS (or demo key file): the id of the
// key that seals, and every key that opens. It never formats a key.
type Keyring struct {
	current string
	keys    map[string][]byte
}

// Current is the id of the key that seals.
func (k Keyring) Current() string { return k.current }

// Keys returns a copy of every key by its id. Never print them.
func (k Keyring) Keys() map[string][]byte {
	out := make(map[string][]byte, len(k.keys))
	for id, key := range k.keys {
		out[id] = append([]byte(nil), key...)
	}
	return out
}

// String names the key ids only.
func (k Keyring) String() string {
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	return fmt.Sprintf("keyring{current %s, %d keys}", k.current, len(ids))
}

// Format prints String for every verb: no verb shows a key.
func (k Keyring) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// GoString is String.
func (k Keyring) GoString() string { return k.String() }

// Cards is the ledger's sealer for these keys.
func (k Keyring) Cards() (ledger.Cards, error) {
	return ledger.NewAESGCM(k.current, k.keys)
}

// keyIDForm is the ledger's form of a key id (ledger.NewAESGCM).
var keyIDForm = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ParseKeys reads id:base64key[,id:base64key...] from s; where names the
// source (the variable or the file) in errors. No error holds any part of
// an entry that may be a key: an entry without a colon, or with an id that
// is not of the id form (a key pasted first), is named by its position
// only; a valid id is named, its key never.
func ParseKeys(s, where string) (Keyring, error) {
	k := Keyring{keys: map[string][]byte{}}
	for i, entry := range strings.Split(s, ",") {
		n := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return Keyring{}, fmt.Errorf("%s: entry %d is empty: want id:key[,id:key...], the current key first", where, n)
		}
		id, enc, ok := strings.Cut(entry, ":")
		if !ok {
			return Keyring{}, fmt.Errorf("%s: entry %d is not of the form id:key (the key id, a colon, the key in base64)", where, n)
		}
		if !keyIDForm.MatchString(id) {
			return Keyring{}, fmt.Errorf("%s: entry %d: the key id before the colon must be 1 to 32 letters, digits, '-' or '_'", where, n)
		}
		if _, dup := k.keys[id]; dup {
			return Keyring{}, fmt.Errorf("%s: key id %s twice", where, id)
		}
		key, ok := decodeKey(enc)
		if !ok {
			return Keyring{}, fmt.Errorf("%s: key %s is not base64", where, id)
		}
		if len(key) != 32 {
			return Keyring{}, fmt.Errorf("%s: key %s is %d bytes: want 32 random bytes (AES-256) in base64, e.g. from openssl rand -base64 32", where, id, len(key))
		}
		if k.current == "" {
			k.current = id
		}
		k.keys[id] = key
	}
	return k, nil
}

// decodeKey decodes standard or URL-safe base64, padded or not.
func decodeKey(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// keySource is where Run takes the card keys from.
type keySource int

const (
	keysNone   keySource = iota // no key: card rows are refused
	keysEnv                     // PAYOUTS_CARD_KEYS
	keysDemo                    // the embedded fake's key file beside its SQLite store
	keysMemory                  // the embedded fake on an in-memory store: a key as short-lived
)

// chooseKeys says where the keys come from: PAYOUTS_CARD_KEYS when set,
// whatever the provider; else, only against the embedded fake (fake) with
// a SQLite store, a demo key of the job's own; else none. A demo key is
// never made for a real provider (its payouts are real money and their
// records must open wherever the job runs next) nor for a postgres://
// store (shared by replicas that have no file in common).
func chooseKeys(env func(string) string, fake bool, store string) (keySource, Keyring, error) {
	if v := env(CardKeysEnv); v != "" {
		k, err := ParseKeys(v, CardKeysEnv)
		if err != nil {
			return keysNone, Keyring{}, err
		}
		return keysEnv, k, nil
	}
	switch {
	case !fake || IsPostgres(store):
		return keysNone, Keyring{}, nil
	case store == memoryStore:
		return keysMemory, Keyring{}, nil
	}
	return keysDemo, Keyring{}, nil
}

// cardRows returns the rows that pay to a card.
func cardRows(rows []Row) []Row {
	var out []Row
	for _, r := range rows {
		if r.Req.To.Kind == payout.Card {
			out = append(out, r)
		}
	}
	return out
}

// newDemoKey is a fresh key under a fresh id ("demo-" and 8 hex digits:
// a record sealed under a lost demo key says which id it wants).
func newDemoKey() (Keyring, error) {
	key := make([]byte, 32)
	id := make([]byte, 4)
	if _, err := rand.Read(key); err != nil {
		return Keyring{}, err
	}
	if _, err := rand.Read(id); err != nil {
		return Keyring{}, err
	}
	name := "demo-" + hex.EncodeToString(id)
	return Keyring{current: name, keys: map[string][]byte{name: key}}, nil
}

// demoKey returns the key in the file beside the SQLite store at store
// (store + ".cardkey", in the form of PAYOUTS_CARD_KEYS), making it on first
// use: written to a temporary file of mode 0600, synced, renamed into place
// and the folder synced, so that a job killed at any moment finds either
// no key file (and no card sealed under it) or a whole one. Call it only
// while holding the store (sqlitestore.Exclusive in the programs): no other job makes the
// file at the same time. A key file that others may read is refused.
func demoKey(store string) (Keyring, error) {
	path := store + KeyFileSuffix
	f, err := os.Open(path)
	switch {
	case err == nil:
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return Keyring{}, fmt.Errorf("reading the demo card key: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return Keyring{}, fmt.Errorf("the demo card key file %s may be read by others (mode %04o): chmod 600 it", path, fi.Mode().Perm())
		}
		b, err := io.ReadAll(io.LimitReader(f, 64<<10))
		if err != nil {
			return Keyring{}, fmt.Errorf("reading the demo card key: %w", err)
		}
		return ParseKeys(strings.TrimSpace(string(b)), path)
	case !errors.Is(err, fs.ErrNotExist):
		return Keyring{}, fmt.Errorf("reading the demo card key: %w", err)
	}
	k, err := newDemoKey()
	if err != nil {
		return Keyring{}, fmt.Errorf("making a demo card key: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Keyring{}, fmt.Errorf("making the demo card key file: %w", err)
	}
	w, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Keyring{}, fmt.Errorf("making the demo card key file: %w", err)
	}
	_, err = w.WriteString(k.current + ":" + base64.StdEncoding.EncodeToString(k.keys[k.current]) + "\n")
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return Keyring{}, fmt.Errorf("making the demo card key file %s: %w", path, err)
	}
	return k, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
