package paykeeper

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// MaxExportRows is the document's limit on one export ("Не более 1000").
const MaxExportRows = 1000

// ExportFilter selects the payments of an export (section 8.1): every field
// but From is required by the document.
type ExportFilter struct {
	PaymentFilter
	From  int // skip this many rows
	Limit int // 1..MaxExportRows
}

// ExportPayments writes the payments of the filter as an xlsx file into w
// as it streams in (GET /export/payments/?type=xlsx), without holding it in
// memory, and returns the bytes written. A read; a failure after the first
// byte reached w is not retried (w holds a partial file).
func (c *Client) ExportPayments(ctx context.Context, w io.Writer, f ExportFilter) (int64, error) {
	if err := checkCtx(ctx); err != nil {
		return 0, err
	}
	if w == nil {
		return 0, &payments.ValidationError{Field: "w", Reason: "nil writer"}
	}
	q, err := f.PaymentFilter.query()
	if err != nil {
		return 0, err
	}
	if f.Limit < 1 || f.Limit > MaxExportRows {
		return 0, &payments.ValidationError{Field: "Limit", Reason: "1 to 1000 rows (the document's limit)"}
	}
	if f.From < 0 {
		return 0, &payments.ValidationError{Field: "From", Reason: "negative"}
	}
	q.Set("type", "xlsx")
	q.Set("from", strconv.Itoa(f.From))
	q.Set("limit", strconv.Itoa(f.Limit))
	cw := &countingWriter{w: w}
	_, err = c.t.Do(ctx, &transport.Request{Op: "export-payments", Kind: transport.Read, Method: http.MethodGet,
		Path: "/export/payments/", RawQuery: encodeQuery(q), Sink: cw, SinkCheck: c.checkExportStart})
	return cw.n, err
}

// checkExportStart refuses a "download" that is really a JSON error or an
// HTML page (the login page among them), before anything reaches the
// caller's writer.
func (c *Client) checkExportStart(resp *transport.Response, head []byte) error {
	const op = "export-payments"
	if len(head) == 0 {
		return c.t.Malformed(op, resp.Status, head, errEmptyExport)
	}
	switch head[0] {
	case '{', '[':
		if e := failEnvelope(op, resp.Status, head); e != nil {
			return c.t.ScrubError(e)
		}
		return c.t.Malformed(op, resp.Status, head, errNotXLSX)
	case '<':
		return c.checkRead(op, &transport.Response{Status: resp.Status, Body: head})
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
