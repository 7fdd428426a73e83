package qiwitopuptest

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/fakeserver"
)

func (s *Server) pingLocked(*xRequest) *out {
	o := newOut(codeOK, false, "")
	s.writeBalances(o, "", "\n")
	return o
}

// writeBalances writes the agent accounts in code order: as <balances>, one
// per line, or as the SBP document's <balances-ovd> on one line.
func (s *Server) writeBalances(o *out, suffix, nl string) {
	o.WriteString("<balances" + suffix + ">" + nl)
	for _, c := range slices.Sorted(maps.Keys(s.balances)) {
		o.WriteString("<balance" + suffix + ` code="` + c + `">` + payments.FormatMinor(s.balances[c], 2) + "</balance" + suffix + ">" + nl)
	}
	o.WriteString("</balances" + suffix + ">" + nl)
}

// Balance returns the agent balance in currency ccy (numeric or letter code)
// with two decimals, or "" without an account in ccy.
func (s *Server) Balance(ccy string) string {
	code, _ := normCCY(ccy) // "" for an unknown currency: no account
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.balances[code]; ok {
		return payments.FormatMinor(v, 2)
	}
	return ""
}

// SetBalance sets (or opens) the agent account in currency ccy with amount,
// with at most two decimals ("10000.00").
func (s *Server) SetBalance(ccy, amount string) error {
	code, ok := normCCY(ccy)
	if !ok {
		return fmt.Errorf("qiwitopuptest: balance: unknown currency %q", ccy)
	}
	v, err := payments.ParseMinor(amount, 2)
	if err != nil || v < 0 {
		return fmt.Errorf("qiwitopuptest: balance: %q is not a non-negative amount with at most 2 decimals", amount)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.balances[code] = v
	return nil
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// phoneExtras checks the phone and optional ccy extras of check-user and
// check-deposit-possible.
func phoneExtras(req *xRequest) (string, bool) {
	phone, _ := extra(req.Extras, "phone")
	ccy, hasCCY := extra(req.Extras, "ccy")
	_, knownCCY := normCCY(ccy)
	return phone, validPhone(phone) && (knownCCY || !hasCCY)
}

// walletLocked reports whether phone's wallet exists and is identified.
func (s *Server) walletLocked(phone string) (exists, identified bool) {
	identified, exists = s.wallets[phone]
	if !exists && s.cfg.allExist {
		return true, true
	}
	return exists, identified
}

func (s *Server) checkUserLocked(req *xRequest) *out {
	phone, ok := phoneExtras(req)
	if !ok {
		return errorDoc(codeUnknown, true)
	}
	exists, _ := s.walletLocked(phone)
	o := newOut(codeOK, false, "")
	o.element("", "exist", boolDigit(exists))
	return o
}

// AddWallet registers a QIWI wallet for phone ("79181234567") or changes
// whether it is identified; one that is not exists, but check-deposit-possible
// and top-ups to it get 204.
func (s *Server) AddWallet(phone string, identified bool) {
	set(s, s.wallets, phone, identified)
}

// set stores v under k in m, one of the server's switch maps, under the lock.
func set[V any](s *Server, m map[string]V, k string, v V) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m[k] = v
}

// WalletExists reports whether a wallet for phone was added or created by a
// wallet top-up; [WithAllWalletsExist] does not count here.
func (s *Server) WalletExists(phone string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.wallets[phone]
	return ok
}

func (s *Server) checkDepositLocked(req *xRequest) *out {
	phone, ok := phoneExtras(req)
	iwt, _ := extra(req.Extras, "income_wire_transfer")
	if !ok || (iwt != "0" && iwt != "1") {
		return errorDoc(codeUnknown, true)
	}
	exists, identified := s.walletLocked(phone)
	o := newOut(codeOK, false, "")
	switch {
	case s.blocked[phone]:
		o = errorDoc(319, true)
	case s.depositImpossible[phone] || (exists && !identified):
		o = errorDoc(204, true)
	}
	o.element("", "exist", boolDigit(exists))
	o.element("", "deposit-possible", boolDigit(o.code == codeOK))
	return o
}

// SetDepositImpossible makes check-deposit-possible and top-ups for phone get
// 204, whether or not the wallet exists.
func (s *Server) SetDepositImpossible(phone string) {
	set(s, s.depositImpossible, phone, true)
}

// BlockAccount forbids new payments to account (a to/account-number, or the
// card of a 32911 payout) and deposits to it (319).
func (s *Server) BlockAccount(account string) {
	set(s, s.blocked, account, true)
}

func (s *Server) getProviderLocked(req *xRequest) *out {
	num := strings.TrimSpace(req.PhoneNumber)
	if !fakeserver.Digits(num) || len(num) > 15 {
		return errorDoc(codeUnknown, true)
	}
	best, id := -1, 0
	for prefix, pid := range s.providers {
		if strings.HasPrefix(num, prefix) && len(prefix) > best {
			best, id = len(prefix), pid
		}
	}
	if best < 0 {
		return errorDoc(codeUnknown, true)
	}
	o := newOut(codeOK, false, "Ок")
	o.WriteString(`<provider id="` + strconv.Itoa(id) + "\"/>\n")
	return o
}

// SetProvider makes get-provider-by-phone-number answer id for the numbers
// that start with prefix (none are set at first).
func (s *Server) SetProvider(prefix string, id int) {
	set(s, s.providers, prefix, id)
}
