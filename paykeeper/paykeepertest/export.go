package paykeepertest

import (
	"archive/zip"
	"html"
	"io"
	"strconv"
	"strings"
	"time"
)

// XLSXContentType is the Content-Type of /export/payments/ answers.
const XLSXContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// ExportMaxLimit is the largest limit /export/payments/ accepts: the
// document's "Не более 1 000".
const ExportMaxLimit = 1000

// paddingName is the stored filler entry that brings a workbook up to
// [WithExportSize].
const paddingName = "docProps/padding.bin"

// WithExportSize makes every /export/payments/ answer exactly n bytes long
// (up to [MaxExportSize]): a real xlsx (zip) workbook padded with a stored
// filler entry, generated while it is sent, so a client can be tested
// streaming many MiB. Zero or less (the default) sends the workbook unpadded;
// a size smaller than the workbook itself is ignored.
func WithExportSize(n int) Option {
	return func(s *Server) { s.exportSize = n }
}

func clampExport(n int) int {
	if n < 0 {
		return 0
	}
	if n > MaxExportSize {
		return MaxExportSize
	}
	return n
}

// SetExportSize changes the size of /export/payments/ answers, as
// [WithExportSize] sets it.
func (s *Server) SetExportSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exportSize = clampExport(n)
}

// hExportPayments answers the registry as an xlsx workbook: type must be
// xlsx, limit at most 1000 (the default when absent), filters as bydate.
func (s *Server) hExportPayments(c *call) response {
	if c.q.Get("type") != "xlsx" {
		return fail(MsgExportType)
	}
	from, limit := page(c.q)
	if limit > ExportMaxLimit {
		return fail(MsgExportLimit)
	}
	if limit < 0 {
		limit = ExportMaxLimit
	}
	ps, ok := s.filterPaymentsLocked(c.q, true)
	rows := [][]string{{"Номер платежа", "Сумма", "Возвращено", "Клиент", "Номер заказа",
		"Платёжная система", "Статус", "Создан", "Проведён", "Оповещён"}}
	for _, p := range paginate(ps, from, limit) {
		rows = append(rows, []string{p.ID, fixed(p.amount), fixed(p.refunded), p.ClientID, p.OrderID,
			p.PaymentSystemID, p.Status, fmtDT(p.Pending), fmtDT(p.Obtained), fmtDT(p.Success)})
	}
	if !ok {
		return fail(MsgBadDate)
	}

	sheet := sheetXML(rows)
	var count countWriter
	_ = writeWorkbook(&count, sheet, 0)
	base := count.n
	pad := int64(s.exportSize) - base
	if pad < 0 {
		pad = 0
	}
	return response{
		Status: 200,
		Type:   XLSXContentType,
		Header: map[string][]string{"Content-Disposition": {`attachment; filename="payments.xlsx"`}},
		Length: base + pad,
		Stream: func(w io.Writer) error { return writeWorkbook(w, sheet, pad) },
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// exportModified dates every entry, so that the same rows always make the
// same bytes (the size computation relies on it).
var exportModified = time.Date(2015, 3, 16, 0, 0, 0, 0, time.UTC)

// writeWorkbook writes a minimal valid xlsx with the sheet and a stored
// filler entry of pad bytes. Its length is linear in pad.
func writeWorkbook(w io.Writer, sheet string, pad int64) error {
	z := zip.NewWriter(w)
	parts := [][2]string{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Default Extension="bin" ContentType="application/octet-stream"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
			`</Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
			`</Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
			`<sheets><sheet name="Платежи" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
			`</Relationships>`},
		{"xl/worksheets/sheet1.xml", sheet},
	}
	for _, p := range parts {
		f, err := z.CreateHeader(&zip.FileHeader{Name: p[0], Method: zip.Deflate, Modified: exportModified})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(f, p[1]); err != nil {
			return err
		}
	}
	f, err := z.CreateHeader(&zip.FileHeader{Name: paddingName, Method: zip.Store, Modified: exportModified})
	if err != nil {
		return err
	}
	if err := writeFiller(f, pad); err != nil {
		return err
	}
	return z.Close()
}

// writeFiller writes n bytes of a fixed pseudo-random pattern.
func writeFiller(w io.Writer, n int64) error {
	var block [32 << 10]byte
	x := uint32(2463534242)
	for i := range block {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		block[i] = byte(x)
	}
	for n > 0 {
		k := int64(len(block))
		if n < k {
			k = n
		}
		if _, err := w.Write(block[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// sheetXML renders rows with inline strings.
func sheetXML(rows [][]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for i, row := range rows {
		r := strconv.Itoa(i + 1)
		b.WriteString(`<row r="` + r + `">`)
		for j, cell := range row {
			b.WriteString(`<c r="` + column(j) + r + `" t="inlineStr"><is><t>` + html.EscapeString(cell) + `</t></is></c>`)
		}
		b.WriteString(`</row>`)
	}
	b.WriteString(`</sheetData></worksheet>`)
	return b.String()
}

func column(j int) string {
	s := ""
	for j++; j > 0; j = (j - 1) / 26 {
		s = string(rune('A'+(j-1)%26)) + s
	}
	return s
}
