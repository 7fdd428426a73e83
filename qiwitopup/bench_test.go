package qiwitopup_test

// A pay round trip and a status decode against the fake, next to the same
// work written by hand with net/http + encoding/xml in the same run:
//
//	go test -run '^$' -bench . -benchmem ./qiwitopup/

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"testing"

	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

var txnSeq atomic.Int64

type handPayment struct {
	Status      int    `xml:"status,attr"`
	TxnID       string `xml:"txn_id,attr"`
	Number      string `xml:"transaction-number,attr"`
	FinalStatus string `xml:"final-status,attr"`
}

type handResponse struct {
	Code    int           `xml:"result-code"`
	Payment []handPayment `xml:"payment"`
}

func BenchmarkPayWallet(b *testing.B) {
	srv := qiwitopuptest.NewServer()
	b.Cleanup(srv.Close)
	b.Run("sdk", func(b *testing.B) {
		c := passwordClient(b, srv)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.PayWallet(context.Background(), walletPayment(fmt.Sprint(1e9+txnSeq.Add(1)), 10000)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		hc := srv.Client()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			body := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><request><request-type>pay</request-type><terminal-id>%s</terminal-id><extra name="password">%s</extra><extra name="income_wire_transfer">1</extra><auth><payment><transaction-number>%d</transaction-number><from><ccy>RUB</ccy></from><to><amount>100.00</amount><ccy>RUB</ccy><service-id>99</service-id><account-number>79181234567</account-number></to></payment></auth></request>`,
				srv.TerminalID(), srv.Password(), int64(1e9)+txnSeq.Add(1))
			req, _ := http.NewRequest(http.MethodPost, srv.URL(), bytes.NewReader([]byte(body)))
			req.Header.Set("Content-Type", "application/xml")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var r handResponse
			if err := xml.Unmarshal(raw, &r); err != nil || len(r.Payment) != 1 {
				b.Fatal(err, string(raw))
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
				Payments []handPayment `xml:"payments>payment"`
			}
			if err := xml.Unmarshal(raw, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
