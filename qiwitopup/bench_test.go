package qiwitopup_test

// A pay round trip and a status decode against the fake, next to the same
// work written by hand with net/http + encoding/xml in the same run:
//
//	go test -run '^$' -bench . -benchmem -count 5 ./qiwitopup/
//
// The hand-written side returns what the SDK returns: every field of the
// payment (statuses and codes as integers, the flags as booleans, txn-date
// parsed in Moscow time, both amounts as exact decimals, the extras in a
// map), and makes the checks a careful client needs to be right: HTTP 200,
// the body read under the same size cap (8 MiB), the values in the request
// XML-escaped, a request-level result-code of 0, the payment found by its
// transaction-number. It leaves out what only the SDK does: the retry loop
// and its limiter token, the attempt timeout and written-or-not tracing,
// OpenTelemetry spans, the charset check, secret scrubbing of every text of
// the answer, single-quoted/wrapped/Cyrillic-attribute tolerance, the
// balances of the answer, outcome-unknown classification.

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

var txnSeq atomic.Int64

// handMaxBody is the SDK's default response size cap.
const handMaxBody = 8 << 20

type handExtra struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

// handWirePayment is a <payment> as the document writes it.
type handWirePayment struct {
	Status      int    `xml:"status,attr"`
	TxnID       string `xml:"txn_id,attr"`
	Number      string `xml:"transaction-number,attr"`
	ResultCode  int    `xml:"result-code,attr"`
	Message     string `xml:"message,attr"`
	FinalStatus bool   `xml:"final-status,attr"`
	FatalError  bool   `xml:"fatal-error,attr"`
	TxnDate     string `xml:"txn-date,attr"`
	From        struct {
		Amount string `xml:"amount"`
		Ccy    string `xml:"ccy"`
	} `xml:"from"`
	To struct {
		ServiceID     int         `xml:"service-id"`
		Amount        string      `xml:"amount"`
		Ccy           string      `xml:"ccy"`
		AccountNumber string      `xml:"account-number"`
		Extras        []handExtra `xml:"extra"`
	} `xml:"to"`
	Extras []handExtra `xml:"extra"`
}

type handResultCode struct {
	Fatal bool `xml:"fatal,attr"`
	Value int  `xml:",chardata"`
}

// handPayment is what the SDK's qiwitopup.Payment holds.
type handPayment struct {
	TransactionNumber, TxnID string
	Status, ResultCode       int
	Message                  string
	FinalStatus, FatalError  bool
	TxnDate                  time.Time
	FromAmount, ToAmount     payments.Decimal
	FromCurrency, ToCurrency string
	Service                  int
	Account                  string
	Extras                   map[string]string
}

var handMoscow = time.FixedZone("MSK", 3*60*60)

func (w *handWirePayment) payment() (handPayment, error) {
	p := handPayment{TransactionNumber: w.Number, TxnID: w.TxnID, Status: w.Status, ResultCode: w.ResultCode,
		Message: w.Message, FinalStatus: w.FinalStatus, FatalError: w.FatalError,
		FromCurrency: w.From.Ccy, ToCurrency: w.To.Ccy, Service: w.To.ServiceID, Account: w.To.AccountNumber}
	var err error
	if w.TxnDate != "" {
		if p.TxnDate, err = time.ParseInLocation("02.01.2006 15:04:05", w.TxnDate, handMoscow); err != nil {
			return handPayment{}, err
		}
	}
	if w.From.Amount != "" {
		if p.FromAmount, err = payments.ParseDecimal(w.From.Amount); err != nil {
			return handPayment{}, err
		}
	}
	if w.To.Amount != "" {
		if p.ToAmount, err = payments.ParseDecimal(w.To.Amount); err != nil {
			return handPayment{}, err
		}
	}
	for _, e := range append(w.Extras, w.To.Extras...) {
		if p.Extras == nil {
			p.Extras = map[string]string{}
		}
		p.Extras[e.Name] = e.Value
	}
	return p, nil
}

type handPayResponse struct {
	Code    *handResultCode   `xml:"result-code"`
	Payment []handWirePayment `xml:"payment"`
}

// handEscape writes s XML-escaped.
func handEscape(b *bytes.Buffer, s string) { _ = xml.EscapeText(b, []byte(s)) }

// handPay is the baseline of PayWallet: what an agent would write without
// the SDK.
func handPay(hc *http.Client, srv *qiwitopuptest.Server, txn string, kopecks int64) (handPayment, error) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><request><request-type>pay</request-type><terminal-id>`)
	handEscape(&b, srv.TerminalID())
	b.WriteString(`</terminal-id><extra name="password">`)
	handEscape(&b, srv.Password())
	b.WriteString(`</extra><extra name="income_wire_transfer">1</extra><auth><payment><transaction-number>`)
	handEscape(&b, txn)
	b.WriteString(`</transaction-number><from><ccy>RUB</ccy></from><to><amount>`)
	b.WriteString(payments.FormatMinor(kopecks, 2))
	b.WriteString(`</amount><ccy>RUB</ccy><service-id>99</service-id><account-number>`)
	handEscape(&b, "79181234567")
	b.WriteString(`</account-number></to></payment></auth></request>`)
	req, err := http.NewRequest(http.MethodPost, srv.URL(), &b)
	if err != nil {
		return handPayment{}, err
	}
	req.Header.Set("Content-Type", "application/xml; charset=utf-8")
	resp, err := hc.Do(req)
	if err != nil {
		return handPayment{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, handMaxBody+1))
	if err != nil {
		return handPayment{}, err
	}
	if len(raw) > handMaxBody {
		return handPayment{}, errors.New("answer too large")
	}
	if resp.StatusCode != http.StatusOK {
		return handPayment{}, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var r handPayResponse
	if err := xml.Unmarshal(raw, &r); err != nil {
		return handPayment{}, err
	}
	if r.Code == nil || r.Code.Value != 0 {
		return handPayment{}, fmt.Errorf("request refused: %s", raw)
	}
	for i := range r.Payment {
		if r.Payment[i].Number == txn {
			return r.Payment[i].payment()
		}
	}
	return handPayment{}, errors.New("no payment for this transaction-number")
}

func BenchmarkPayWallet(b *testing.B) {
	// A balance no run exhausts: every payment is accepted (result-code 0).
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithBalance("643", "1000000000000.00"))
	b.Cleanup(srv.Close)
	b.Run("sdk", func(b *testing.B) {
		c := passwordClient(b, srv)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p, err := c.PayWallet(context.Background(), walletPayment(strconv.FormatInt(1e9+txnSeq.Add(1), 10), 10000))
			if err != nil || p.ResultCode != qiwitopup.CodeOK {
				b.Fatal(err, p.ResultCode)
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		hc := srv.Client()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p, err := handPay(hc, srv, strconv.FormatInt(1e9+txnSeq.Add(1), 10), 10000)
			if err != nil || p.ResultCode != 0 {
				b.Fatal(err, p.ResultCode)
			}
		}
	})
}

func BenchmarkDecodeStatusAnswer(b *testing.B) {
	raw, err := os.ReadFile("testdata/topup_sbp_ru_02_response.xml")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := qiwitopup.DecodeForBenchmark(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/xml", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var r struct {
				Code     *handResultCode   `xml:"result-code"`
				Payments []handWirePayment `xml:"payments>payment"`
			}
			if err := xml.Unmarshal(raw, &r); err != nil {
				b.Fatal(err)
			}
			if r.Code == nil || r.Code.Value != 0 || len(r.Payments) != 1 {
				b.Fatal("not the document's status answer")
			}
			if _, err := r.Payments[0].payment(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
