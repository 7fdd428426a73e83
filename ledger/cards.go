package ledger

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
)

// Cards keeps card numbers out of the store in clear (PCI DSS requirement
// 3.5: a stored card number must be unreadable). The ledger calls Seal on
// the card number of every card payout before Submit records it, stores
// only what Seal returns in the account column, and calls Open when it
// reads the record back to send or show it. Set it in Options.Cards: without
// it, Submit refuses card destinations. Phone numbers (mobile, wallet and
// SBP payouts) are not card data and are stored as given.
//
// [NewAESGCM] encrypts with keys the merchant holds; a tokenization service
// fits the same two methods (Seal stores the card with the service and
// returns its token, Open asks the service back). A token must not itself
// look like a card number: 13 to 19 digits passing the Luhn check are read
// as a card number stored in clear before Options.Cards was set.
type Cards interface {
	// Seal returns what the store keeps instead of the card number pan of
	// the payout ref (the ref lets an implementation bind the two).
	Seal(ctx context.Context, ref, pan string) (string, error)
	// Open returns the card number that Seal sealed for ref.
	Open(ctx context.Context, ref, sealed string) (string, error)
}

// AESGCM seals card numbers with AES-256-GCM. The stored form is
// "enc:v1:<key id>:<base64url of a 12-byte random nonce and the
// ciphertext>", authenticated with the payout's Ref, so that a sealed value
// copied into another record does not open. Keys rotate by id: Seal uses
// the current key, Open any key it is given, so records sealed before a
// rotation open as long as their key is kept. Keys are never stored; keep
// them in a secret manager. It never formats a key.
type AESGCM struct {
	current string
	aeads   map[string]cipher.AEAD
}

var keyID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

const sealPrefix = "enc:v1:"

// NewAESGCM returns a Cards that seals with keys[current]. Each key is 32
// random bytes (AES-256); each id 1 to 32 letters, digits, '-' or '_'.
func NewAESGCM(current string, keys map[string][]byte) (*AESGCM, error) {
	if _, ok := keys[current]; !ok {
		return nil, &payments.ValidationError{Field: "cards.current", Reason: "no key with the current id"}
	}
	a := &AESGCM{current: current, aeads: map[string]cipher.AEAD{}}
	for id, k := range keys {
		if !keyID.MatchString(id) {
			return nil, &payments.ValidationError{Field: "cards.keys", Reason: fmt.Sprintf("key id %q: 1 to 32 letters, digits, '-' or '_'", id)}
		}
		if len(k) != 32 {
			return nil, &payments.ValidationError{Field: "cards.keys", Reason: fmt.Sprintf("key %s: 32 bytes (AES-256), not %d", id, len(k))}
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, &payments.ValidationError{Field: "cards.keys", Reason: "key " + id + ": " + err.Error()}
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, &payments.ValidationError{Field: "cards.keys", Reason: "key " + id + ": " + err.Error()}
		}
		a.aeads[id] = aead
	}
	return a, nil
}

// Seal encrypts pan under the current key, bound to ref.
func (a *AESGCM) Seal(_ context.Context, ref, pan string) (string, error) {
	aead := a.aeads[a.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("ledger: sealing a card number: %w", err)
	}
	ct := aead.Seal(nonce, nonce, []byte(pan), []byte(ref))
	return sealPrefix + a.current + ":" + base64.RawURLEncoding.EncodeToString(ct), nil
}

// ErrSealed is matched by every error opening a sealed card number: an
// unknown key id, a value that is not of the sealed form, a value that does
// not authenticate (another key, another record's value, altered bytes).
var ErrSealed = errors.New("ledger: sealed card number does not open")

// Open decrypts a value Seal made for ref.
func (a *AESGCM) Open(_ context.Context, ref, sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", fmt.Errorf("%w: not of the form enc:v1:<key id>:<data>", ErrSealed)
	}
	id, data, ok := strings.Cut(rest, ":")
	if !ok {
		return "", fmt.Errorf("%w: no key id", ErrSealed)
	}
	aead := a.aeads[id]
	if aead == nil {
		return "", fmt.Errorf("%w: no key %q among those given (a key rotated away too early?)", ErrSealed, id)
	}
	ct, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil || len(ct) < aead.NonceSize()+aead.Overhead() {
		return "", fmt.Errorf("%w: damaged data", ErrSealed)
	}
	pan, err := aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], []byte(ref))
	if err != nil {
		return "", fmt.Errorf("%w: does not authenticate under key %q for ref %s", ErrSealed, id, ref)
	}
	return string(pan), nil
}

// String names the current key id only.
func (a *AESGCM) String() string { return "ledger.AESGCM{current key " + a.current + "}" }

// Format prints String for every verb: no verb shows a key.
func (a *AESGCM) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.String())) }

// GoString is String.
func (a *AESGCM) GoString() string { return a.String() }

// clearCard reports whether a stored card account is a card number kept in
// clear (a record written before Options.Cards was set).
func clearCard(s string) bool {
	if len(s) < 13 || len(s) > 19 {
		return false
	}
	return payments.LuhnValid(s)
}

// seal replaces the card number of rec with what the store keeps.
func (l *Ledger) seal(ctx context.Context, rec *Record) error {
	if rec.To.Kind != payout.Card {
		return nil
	}
	if l.opts.Cards == nil {
		return &payments.ValidationError{Field: "to.account", Reason: "the ledger keeps no card number in clear: set ledger.Options.Cards (ledger.NewAESGCM, or your tokenizer) to pay to cards"}
	}
	s, err := l.opts.Cards.Seal(ctx, rec.Ref, rec.To.Account)
	if err != nil {
		return fmt.Errorf("ledger: sealing the card number of %s: %w", rec.Ref, err)
	}
	if s == rec.To.Account || clearCard(s) {
		return fmt.Errorf("ledger: Options.Cards sealed the card number of %s as a card number: refused", rec.Ref)
	}
	rec.To.Account = s
	return nil
}

// open gives rec back its card number.
func (l *Ledger) open(ctx context.Context, rec *Record) error {
	if rec.To.Kind != payout.Card || clearCard(rec.To.Account) {
		return nil
	}
	if l.opts.Cards == nil {
		return fmt.Errorf("ledger: payout %s: its card number is sealed and Options.Cards is not set", rec.Ref)
	}
	pan, err := l.opts.Cards.Open(ctx, rec.Ref, rec.To.Account)
	if err != nil {
		return fmt.Errorf("ledger: payout %s: opening its card number: %w", rec.Ref, err)
	}
	rec.To.Account = pan
	return nil
}

func (l *Ledger) openAll(ctx context.Context, recs []Record) error {
	for i := range recs {
		if err := l.open(ctx, &recs[i]); err != nil {
			return err
		}
	}
	return nil
}
