package qiwitopup

import (
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

func TestEveryDocumentResponseDecodes(t *testing.T) {
	files, err := filepath.Glob("testdata/*_response.xml")
	require.NoError(t, err)
	require.Len(t, files, 38)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = decodeResponse(b)
		assert.NoError(t, err, f)
	}
}

func TestPayAnswerOfTheDocument(t *testing.T) {
	for _, name := range []string{"topup_ru_02_response.xml", "topup_en_02_response.xml"} {
		r, err := decodeResponse(fixture(t, name))
		require.NoError(t, err)
		require.Len(t, r.Payments, 1)
		p := r.Payments[0]
		assert.Equal(t, Status(60), p.Status)
		assert.Equal(t, "6060", p.TxnID)
		assert.Equal(t, "12345678", p.TransactionNumber)
		assert.Equal(t, CodeOK, p.ResultCode)
		assert.True(t, p.FinalStatus)
		assert.False(t, p.FatalError)
		assert.True(t, p.TxnDate.Equal(time.Date(2011, 3, 2, 14, 35, 46, 0, moscow)))
		assert.Equal(t, "1115.00", p.FromAmount.String())
		assert.Equal(t, "1000.00", p.ToAmount.String())
		assert.Equal(t, "643", p.FromCurrency)
		assert.Equal(t, ServiceWallet, p.Service)
		assert.Equal(t, "79181234567", p.Account)
		assert.True(t, p.Succeeded())
		assert.Equal(t, payments.StateSucceeded, p.State())
		assert.NoError(t, p.Err())
		require.Len(t, r.Balances, 3)
		assert.Equal(t, Balance{Currency: "840", Amount: payments.MustDecimal("12.20")}.Amount.String(), r.Balances[2].Amount.String())
	}
	r, _ := decodeResponse(fixture(t, "topup_ru_02_response.xml"))
	assert.True(t, r.HasCode, "RU has <result-code>")
	assert.Equal(t, "Ok", r.Payments[0].Message)
	r, _ = decodeResponse(fixture(t, "topup_en_02_response.xml"))
	assert.False(t, r.HasCode, "EN has none; the payment is there")
}

func TestStatusAnswerWithTheCyrillicTypo(t *testing.T) {
	// The status examples spell the attribute result-сode (Cyrillic с).
	// The decoder reads it as result-code: the examples mean 0.
	r, err := decodeResponse(fixture(t, "topup-status_ru_02_response.xml"))
	require.NoError(t, err)
	require.Len(t, r.Payments, 1)
	assert.Equal(t, CodeOK, r.Payments[0].ResultCode)
	assert.Equal(t, "759640439", r.Payments[0].TxnID)
	r, err = decodeResponse([]byte(strings.Replace(string(fixture(t, "topup-status_ru_02_response.xml")), "result-сode='0'", "result-сode='215'", 1)))
	require.NoError(t, err)
	assert.Equal(t, CodeTxnNumberReused, r.Payments[0].ResultCode, "the typo'd attribute is read, not ignored")
}

func TestSBPAnswerWrappedAndCyrillicOk(t *testing.T) {
	r, err := decodeResponse(fixture(t, "topup_sbp_ru_02_response.xml"))
	require.NoError(t, err)
	require.Len(t, r.Payments, 1, "<payments><payment> is read")
	p := r.Payments[0]
	assert.Equal(t, StatusAccepted, p.Status)
	assert.Equal(t, "20323739405", p.TxnID)
	assert.Equal(t, "Ок", p.Message)
	assert.False(t, p.FinalStatus)
	assert.Equal(t, payments.StatePending, p.State())
	assert.Equal(t, "10007.03", p.ToAmount.String())
	assert.Equal(t, "6776332.87", r.Balances[0].Amount.String())
}

func TestCardAnswerMasksTheCard(t *testing.T) {
	r, err := decodeResponse(fixture(t, "topup_card_ru_02_response.xml"))
	require.NoError(t, err)
	assert.Equal(t, "4111********1123", r.Payments[0].Account)
	assert.Equal(t, "955.00", r.Payments[0].ToAmount.String())
}

func TestMobileAnswerWithoutResultCodeAndBalanceWithoutDecimals(t *testing.T) {
	r, err := decodeResponse(fixture(t, "topup_mobile_ru_02_response.xml"))
	require.NoError(t, err)
	assert.False(t, r.HasCode)
	assert.Equal(t, "200", r.Balances[1].Amount.String())
}

func TestCheckAnswersOfTheDocument(t *testing.T) {
	c, _ := mockClient(t, PasswordAuth("123", "pw"), 200, fixture(t, "check-deposit_ru_02_response.xml"))
	ok, err := c.CheckDepositPossible(context.Background(), "79031234567", true, "")
	require.NoError(t, err)
	assert.Equal(t, DepositCheck{Exist: true, Possible: true}, ok)

	c, _ = mockClient(t, PasswordAuth("123", "pw"), 200, fixture(t, "check-deposit_ru_03_response.xml"))
	no, err := c.CheckDepositPossible(context.Background(), "79031234567", true, "")
	require.NoError(t, err, "204 comes with the flags: an answer, not an error")
	assert.True(t, no.Exist)
	assert.False(t, no.Possible)
	assert.Equal(t, CodeIdentification, no.Code)
	assert.True(t, no.Fatal)
	assert.Equal(t, "Недостаточный статус идентификации кошелька для проведения платежа", no.Message)

	c, _ = mockClient(t, PasswordAuth("123", "pw"), 200, fixture(t, "check-deposit_ru_04_response.xml"))
	_, err = c.CheckDepositPossible(context.Background(), "79031234567", true, "")
	assert.ErrorIs(t, err, payments.ErrUnavailable)
	assert.ErrorContains(t, err, "Неизвестная ошибка")

	c, _ = mockClient(t, PasswordAuth("123", "pw"), 200, fixture(t, "check-user_en_02_response.xml"))
	exists, err := c.CheckUser(context.Background(), "79031234567", "")
	require.NoError(t, err)
	assert.True(t, exists, "EN answer without the XML declaration")

	c, _ = mockClient(t, PasswordAuth("44", "pw"), 200, fixture(t, "get-balance_ru_02_response.xml"))
	bal, err := c.Ping(context.Background())
	require.NoError(t, err)
	require.Len(t, bal, 3)
	assert.Equal(t, "643", bal[1].Currency)
	assert.Equal(t, "200.26", bal[1].Amount.String())
}

func TestRequestErrorsAreTyped(t *testing.T) {
	cases := map[string]error{
		`<response><result-code fatal="true" message="Ошибка авторизации">150</result-code></response>`: ErrAuth,
		`<response><result-code fatal="true">339</result-code></response>`:                              ErrIPBlocked,
		`<response><result-code fatal="false">13</result-code></response>`:                              ErrTryLater,
	}
	for body, detail := range cases {
		c, _ := mockClient(t, PasswordAuth("123", "pw"), 200, []byte(body))
		_, err := c.Ping(context.Background())
		assert.ErrorIs(t, err, detail, body)
	}
}

func TestPayNeverReportsADoubtfulAnswerAsAFailure(t *testing.T) {
	wallet := WalletPayment{Common: Common{TransactionNumber: "12345678", Amount: 111500}, Phone: "79181234567", NonCash: true}
	doubtful := map[string]struct {
		status int
		body   string
	}{
		"request error 300": {200, string(fixture(t, "topup_ru_03_response.xml"))},
		"try later 13":      {200, `<response><result-code fatal="false">13</result-code></response>`},
		"150 with a payment": {200, `<response><result-code fatal="true">150</result-code>` +
			`<payment status='60' txn_id='6060' transaction-number='12345678' result-code='0' final-status='true' fatal-error='false'/></response>`},
		"empty body":     {200, ""},
		"malformed":      {200, "<response><payment status='60'"},
		"html 502":       {502, "<html><title>Bad Gateway</title></html>"},
		"403":            {403, "Forbidden"},
		"no payment":     {200, `<response><result-code fatal="false">0</result-code></response>`},
		"other payment":  {200, strings.Replace(string(fixture(t, "topup_ru_02_response.xml")), "12345678", "99", 1)},
		"no status attr": {200, `<response><payment transaction-number='12345678' txn_id='1'/></response>`},
	}
	for name, a := range doubtful {
		c, _ := mockClient(t, PasswordAuth("123", "pw"), a.status, []byte(a.body))
		_, err := c.PayWallet(context.Background(), wallet)
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, name)
		var ou *payments.OutcomeUnknownError
		if assert.ErrorAs(t, err, &ou, name) {
			assert.Equal(t, "12345678", ou.Ref, name)
			assert.NotErrorIs(t, ou.Err, payments.ErrOutcomeUnknown, "%s: wrapped once", name)
		}
	}
	c, _ := mockClient(t, PasswordAuth("123", "pw"), 200, []byte(strings.Replace(string(fixture(t, "topup_ru_02_response.xml")),
		"status='60' txn_id='6060' transaction-number='12345678' result-code='0'", "status='160' txn_id='6060' transaction-number='12345678' result-code='215'", 1)))
	p, err := c.PayWallet(context.Background(), wallet)
	require.NoError(t, err, "a payment answer is an answer")
	assert.True(t, p.Failed())
	assert.ErrorIs(t, p.Err(), ErrTxnNumberReused)
	assert.ErrorIs(t, p.Err(), payments.ErrDuplicate)
}

func TestValidationBeforeSending(t *testing.T) {
	c, cp := mockClient(t, PasswordAuth("123", "pw"), 200, nil)
	ctx := context.Background()
	good := Common{TransactionNumber: "12345678", Amount: 100}
	errs := []error{
		func() error {
			_, e := c.PayWallet(ctx, WalletPayment{Common: Common{TransactionNumber: "0123", Amount: 1}, Phone: "79181234567"})
			return e
		}(),
		func() error {
			_, e := c.PayWallet(ctx, WalletPayment{Common: Common{TransactionNumber: "123456789012345678901", Amount: 1}, Phone: "79181234567"})
			return e
		}(),
		func() error {
			_, e := c.PayWallet(ctx, WalletPayment{Common: Common{TransactionNumber: "1", Amount: 0}, Phone: "79181234567"})
			return e
		}(),
		func() error { _, e := c.PayWallet(ctx, WalletPayment{Common: good, Phone: "+79181234567"}); return e }(),
		func() error {
			_, e := c.PayWallet(ctx, WalletPayment{Common: good, Phone: "79181234567", Comment: strings.Repeat("я", 1001)})
			return e
		}(),
		func() error {
			_, e := c.PayCard(ctx, CardPayment{Common: good, CardNumber: "4265 1111 2233 4411"})
			return e
		}(),
		func() error {
			_, e := c.PayCard(ctx, CardPayment{Common: Common{TransactionNumber: "1", Amount: 1, Currency: "USD"}, CardNumber: "4265111122334411"})
			return e
		}(),
		func() error {
			_, e := c.PaySBP(ctx, SBPPayment{Common: good, Phone: "80070310009", BankID: "1"})
			return e
		}(),
		func() error {
			_, e := c.PayCardSpec(ctx, CardSpecPayment{Common: good, Phone: "79991112233", CardNumber: "4265111122334411"})
			return e
		}(),
		func() error {
			_, e := c.PayMobile(ctx, MobilePayment{Common: good, Phone: "79881111234", LocalPhone: "9881111234"})
			return e
		}(),
		func() error { _, e := c.Status(ctx); return e }(),
		func() error { _, e := c.CheckUser(ctx, "7903", ""); return e }(),
		func() error {
			_, e := c.PayWallet(ctx, WalletPayment{Common: Common{TransactionNumber: "1", Amount: 1, Currency: "RUBLE"}, Phone: "79181234567"})
			return e
		}(),
	}
	for i, err := range errs {
		assert.ErrorIs(t, err, payments.ErrInvalidRequest, "case %d", i)
		assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "case %d", i)
		if err != nil {
			assert.NotContains(t, err.Error(), "4265 1111 2233 4411")
		}
	}
	assert.Empty(t, cp.bodies, "nothing sent")
	for _, a := range []Auth{PasswordAuth("12a", "pw"), PasswordAuth("123", ""), SignatureAuth("123", nil, ""), {}} {
		_, err := New(a)
		assert.ErrorIs(t, err, payments.ErrInvalidRequest, a.String())
	}
}

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

func TestSignatureAuthSignsTheExactBody(t *testing.T) {
	key := testKey(t)
	for _, alg := range []SignAlg{SHA1withRSA, MD5withRSA} {
		c, cp := mockClient(t, SignatureAuth("123", key, alg), 200, fixture(t, "get-balance_ru_02_response.xml"))
		_, err := c.Ping(context.Background())
		require.NoError(t, err)
		body := cp.bodies[0]
		assert.NotContains(t, string(body), "password", "no password with a signature")
		assert.Contains(t, string(body), "<terminal-id>123</terminal-id>")
		assert.Equal(t, string(alg), cp.header[0].Get("X-Digital-Sign-Alg"))
		sig, err := base64.StdEncoding.DecodeString(cp.header[0].Get("X-Digital-Sign"))
		require.NoError(t, err)
		var digest []byte
		h := crypto.SHA1
		if alg == MD5withRSA {
			s := md5.Sum(body)
			digest, h = s[:], crypto.MD5
		} else {
			s := sha1.Sum(body)
			digest = s[:]
		}
		assert.NoError(t, rsa.VerifyPKCS1v15(&key.PublicKey, h, digest, sig), string(alg))
	}
}

func TestResendCarriesTheSameSignature(t *testing.T) {
	key := testKey(t)
	c, cp := mockClient(t, SignatureAuth("123", key, ""), 503, []byte("busy"))
	_, _ = c.Ping(context.Background())
	require.Len(t, cp.bodies, 3)
	for i := 1; i < 3; i++ {
		assert.Equal(t, cp.bodies[0], cp.bodies[i])
		assert.Equal(t, cp.header[0].Get("X-Digital-Sign"), cp.header[i].Get("X-Digital-Sign"))
	}
}

func TestParsePrivateKeyPEM(t *testing.T) {
	key := testKey(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	pkcs8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for _, p := range [][]byte{pkcs1, pkcs8} {
		s, err := ParsePrivateKeyPEM(p)
		require.NoError(t, err)
		assert.True(t, key.PublicKey.Equal(s.Public()))
	}
	for _, bad := range [][]byte{nil, []byte("junk"), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})} {
		_, err := ParsePrivateKeyPEM(bad)
		assert.Error(t, err)
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	a := PasswordAuth("123", "s3cret-pw")
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%#v", a), fmt.Sprintf("%+v", a)} {
		assert.NotContains(t, s, "s3cret")
	}
	p := CardPayment{Common: Common{TransactionNumber: "1"}, CardNumber: "4265111122334411"}
	assert.NotContains(t, fmt.Sprintf("%v %#v %+v", p, p, p), "4265111122334411")
}

func TestStatusMatchesByNumberNotPosition(t *testing.T) {
	c, _ := mockClient(t, PasswordAuth("123", "pw"), 200, fixture(t, "topup-status_ru_02_response.xml"))
	res, err := c.Status(context.Background(), StatusQuery{TransactionNumber: "999"}, StatusQuery{TransactionNumber: "12345678"})
	require.NoError(t, err)
	assert.False(t, res[0].Found, "absent from the answer: not found yet")
	assert.True(t, res[1].Found)
	assert.Equal(t, StatusSucceeded, res[1].Payment.Status)

	c, _ = mockClient(t, PasswordAuth("123", "pw"), 200, fixture(t, "topup-status_ru_03_response.xml"))
	_, err = c.Status(context.Background(), StatusQuery{TransactionNumber: "12345678"})
	assert.ErrorIs(t, err, payments.ErrUnavailable)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
}

func TestStatusStates(t *testing.T) {
	for s, want := range map[Status]payments.State{-1: payments.StateUnknown, 0: payments.StatePending, 49: payments.StatePending,
		50: payments.StatePending, 52: payments.StatePending, 60: payments.StateSucceeded, 150: payments.StateFailed, 151: payments.StateFailed, 160: payments.StateFailed, 101: payments.StateFailed} {
		assert.Equal(t, want, s.State(), s.String())
	}
	assert.True(t, Status(160).Final())
	assert.False(t, Status(52).Final())
	assert.False(t, Payment{TxnID: "", Status: 50}.Registered())
	assert.Equal(t, payments.StateUnknown, Payment{FinalStatus: true, Status: 70, TxnID: "1"}.State(), "undocumented final status: manual review")
}

func FuzzDecodeResponse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*_response.xml")
	for _, name := range files {
		b, _ := os.ReadFile(name)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeResponse(b)
		if err != nil {
			return
		}
		for _, p := range r.Payments {
			if p.TransactionNumber == "" {
				t.Fatal("payment without a transaction number accepted")
			}
			_ = p.Err()
			_ = p.State()
		}
	})
}

func TestRequestCodeFatalColumn(t *testing.T) {
	for c, fatal := range map[ResultCode]bool{CodeTryLater: false, CodeAuth: true, CodeUnknown: false, CodeIPBlocked: true} {
		assert.Equal(t, fatal, c.Fatal(), c.String())
	}
}
