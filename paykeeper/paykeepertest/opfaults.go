package paykeepertest

// DropNextOp is [Server.DropNext] for one operation: the next n requests
// whose [Request.Op] is op ([OpInvoicePreview], [OpReverse], ...) are
// processed fully (the invoice is created, the refund made) and then the
// connection is closed without an answer. Requests of other operations —
// the security token fetch that precedes a client's first POST among them —
// are not touched and do not use it up, so a test can lose the answer of an
// invoice creation while the reads around it go through.
//
// n <= 0 cancels the drops still queued for op. For a request of op, this
// switch comes before the queue of the other fault switches, whose head
// then waits for the next request.
func (s *Server) DropNextOp(op string, n int) { s.opDrops.Add(op, n) }

// popOpFault uses up one DropNextOp of op, if any is left.
func (s *Server) popOpFault(op string) (fault, bool) {
	if !s.opDrops.Take(op) {
		return fault{}, false
	}
	return fault{kind: faultDrop}, true
}
