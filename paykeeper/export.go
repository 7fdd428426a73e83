package paykeeper

import (
	"bytes"
	"context"
	"errors"
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
// memory, and returns the bytes written. A stream is cut when no byte comes
// for the per-attempt timeout, not while bytes keep arriving. An xlsx file
// is a zip archive: one that does not end with its zip directory was cut
// short, and is an error (payments.ErrUnavailable) even when the answer
// looked complete. A read; a failure after the first byte reached w is not
// retried (w holds a partial file).
func (c *Client) ExportPayments(ctx context.Context, w io.Writer, f ExportFilter) (_ int64, err error) {
	ctx, obs := c.operation(ctx, "export-payments", "")
	defer func() { obs.End(err) }()
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
	resp, err := c.t.Do(ctx, &transport.Request{Op: "export-payments", Kind: transport.Read, Method: http.MethodGet,
		Path: "/export/payments/", RawQuery: encodeQuery(q), Sink: cw, SinkCheck: c.checkExportStart})
	if err == nil && !zipComplete(cw.tail) {
		err = c.t.Malformed("export-payments", resp.Status, nil, errExportCut)
	}
	return cw.n, err
}

// zipEnd is the signature of a zip archive's end-of-central-directory
// record, which comes last in the file, followed by at most a 64 KiB comment.
var zipEnd = []byte("PK\x05\x06")

// maxZipTail is how far from the end the record can start.
const maxZipTail = 22 + 65535

var errExportCut = errors.New("the xlsx file does not end with its zip directory: cut short")

// zipComplete reports whether tail, the end of a file, ends exactly with a
// zip end-of-central-directory record and its comment.
func zipComplete(tail []byte) bool {
	for end := len(tail); ; {
		i := bytes.LastIndex(tail[:end], zipEnd)
		if i < 0 {
			return false
		}
		if rec := tail[i:]; len(rec) >= 22 && int(rec[20])|int(rec[21])<<8 == len(rec)-22 {
			return true
		}
		end = i + len(zipEnd) - 1 // an earlier signature, inside the comment
	}
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

// countingWriter counts what reaches w and keeps the last maxZipTail bytes.
type countingWriter struct {
	w    io.Writer
	n    int64
	tail []byte
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if n >= maxZipTail {
		c.tail = append(c.tail[:0], p[n-maxZipTail:n]...)
	} else {
		c.tail = append(c.tail, p[:n]...)
		if len(c.tail) > 2*maxZipTail {
			c.tail = append(c.tail[:0], c.tail[len(c.tail)-maxZipTail:]...)
		}
	}
	return n, err
}
