package main

import (
	"fmt"

	"github.com/paysdk/payments/internal/payoutjob"
	"github.com/paysdk/payments/ledger"
)

// The card keys are internal/payoutjob's; these names are the ones this
// program's tests read them by.

// cardKeysEnv holds the keys the ledger seals card numbers with.
const cardKeysEnv = payoutjob.CardKeysEnv

// keyFileSuffix names the demo key file beside a SQLite store.
const keyFileSuffix = payoutjob.KeyFileSuffix

// keyring is a parsed PAYOUTS_CARD_KEYS (or demo key file): the id of the
// key that seals, and every key that opens. It never formats a key.
type keyring struct {
	current string
	keys    map[string][]byte
}

// Format names the key ids only, for every verb.
func (k keyring) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "keyring{current %s, %d keys}", k.current, len(k.keys))
}

// cards is the ledger's sealer for these keys.
func (k keyring) cards() (ledger.Cards, error) {
	return ledger.NewAESGCM(k.current, k.keys)
}

// parseKeys is payoutjob.ParseKeys.
func parseKeys(s, where string) (keyring, error) {
	k, err := payoutjob.ParseKeys(s, where)
	if err != nil {
		return keyring{}, err
	}
	return keyring{current: k.Current(), keys: k.Keys()}, nil
}
