package paykeeper

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// xlsxLike is a zip archive (as an xlsx file is) of about size bytes.
func xlsxLike(t testing.TB, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	f, err := z.CreateHeader(&zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Store})
	require.NoError(t, err)
	_, err = f.Write(bytes.Repeat([]byte("x"), size))
	require.NoError(t, err)
	require.NoError(t, z.Close())
	return b.Bytes()
}

// TestExportCutShortIsAnError: an answer that looks complete but whose
// zip ends early (a proxy's truncation, a stream cut where the transport
// cannot tell) is not a successful export.
func TestExportCutShortIsAnError(t *testing.T) {
	file := xlsxLike(t, 10000)
	for name, body := range map[string][]byte{"complete": file, "cut in half": file[:len(file)/2], "cut before the last byte": file[:len(file)-1]} {
		c, _, _ := mockClient(t, answerWith(string(body)))
		var buf bytes.Buffer
		n, err := c.ExportPayments(context.Background(), &buf, ExportFilter{PaymentFilter: PaymentFilter{Start: day1, End: day2,
			Statuses: AllPaymentStatuses, PaymentSystemIDs: []string{"1"}}, Limit: 10})
		assert.EqualValues(t, len(body), n, name)
		if name == "complete" {
			assert.NoError(t, err, name)
		} else {
			assert.ErrorIs(t, err, payments.ErrUnavailable, name)
			assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, name)
		}
	}
	// A tail kept across many small writes.
	cw := &countingWriter{w: io.Discard}
	for i := 0; i < len(file); i += 7 {
		_, _ = cw.Write(file[i:min(i+7, len(file))])
	}
	assert.True(t, zipComplete(cw.tail))
	assert.False(t, zipComplete(append(cw.tail, 'x')), "bytes after the record")
	assert.LessOrEqual(t, len(cw.tail), 2*maxZipTail)
}

// TestTruncatedExportFromTheFake: the fake's TruncateNext sends a properly
// framed answer with half the workbook; that is no export.
func TestTruncatedExportFromTheFake(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t), paykeepertest.WithExportSize(64<<10))
	c, err := New(Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword}, append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	defer c.Close()
	f := ExportFilter{PaymentFilter: PaymentFilter{Start: day1, End: day2, Statuses: AllPaymentStatuses, PaymentSystemIDs: []string{"1"}}, Limit: 10}
	n, err := c.ExportPayments(context.Background(), io.Discard, f)
	require.NoError(t, err)
	assert.EqualValues(t, 64<<10, n)
	srv.TruncateNext(1)
	n, err = c.ExportPayments(context.Background(), io.Discard, f)
	assert.ErrorIs(t, err, payments.ErrUnavailable)
	assert.EqualValues(t, 32<<10, n)
}

// TestSteadyExportOutlivesTheTimeout: an export that takes five times the
// per-attempt timeout but keeps sending is not cut; one that stops sending
// for longer than the timeout is. A real TLS server, so that the cut reaches
// the connection.
func TestSteadyExportOutlivesTheTimeout(t *testing.T) {
	const (
		timeout = 60 * time.Millisecond
		chunks  = 20
	)
	file := xlsxLike(t, 20*1000)
	chunk := len(file) / chunks
	for _, c := range []struct {
		name    string
		pauseAt int // the chunk the server stops before, for 4 timeouts
		ok      bool
	}{
		{"steady", -1, true},
		{"stalled", chunks / 2, false},
		// Within the first 4 KiB the transport takes the cut connection
		// for the end of a short file; the zip check catches it.
		{"stalled early", 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i < chunks; i++ {
					if i == c.pauseAt {
						select {
						case <-time.After(4 * timeout):
						case <-r.Context().Done():
							return
						}
					}
					end := (i + 1) * chunk
					if i == chunks-1 {
						end = len(file)
					}
					_, _ = w.Write(file[i*chunk : end])
					w.(http.Flusher).Flush()
					select {
					case <-time.After(timeout / 4):
					case <-r.Context().Done():
						return
					}
				}
			}))
			defer srv.Close()
			ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
			cl, err := New(Credentials{User: "demo", Password: testPassword}, payments.WithBaseURL(srv.URL), payments.WithRootCAsPEM(ca),
				payments.WithTestTiming(), payments.WithTimeout(timeout))
			require.NoError(t, err)
			defer cl.Close()
			var buf bytes.Buffer
			start := time.Now()
			n, err := cl.ExportPayments(context.Background(), &buf, ExportFilter{PaymentFilter: PaymentFilter{Start: day1, End: day2,
				Statuses: AllPaymentStatuses, PaymentSystemIDs: []string{"1"}}, Limit: 10})
			assert.EqualValues(t, buf.Len(), n, "the count is what reached the writer")
			if c.ok {
				require.NoError(t, err)
				assert.Greater(t, time.Since(start), 3*timeout, "it took longer than the timeout")
				assert.Equal(t, file, buf.Bytes())
			} else {
				assert.ErrorIs(t, err, payments.ErrUnavailable)
				assert.Less(t, n, int64(len(file)))
			}
		})
	}
}
