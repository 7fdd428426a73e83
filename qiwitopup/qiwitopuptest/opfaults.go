package qiwitopuptest

// DropNextOp is [Server.DropNext] for one operation: the next n requests
// whose [Request.Op] is op (OpPay, OpStatus, ...) are processed fully
// (a pay creates its payment, a status moves it) and then the connection is
// closed without an answer. Requests of other operations are not touched
// and do not use it up, so a test can lose the answers of pay requests only
// while the reads around them (check-deposit-possible, status) go through.
//
// n <= 0 cancels the drops still queued for op. For a request of op, this
// switch comes before the queue of the other fault switches, whose head then
// waits for the next request.
func (s *Server) DropNextOp(op string, n int) { s.opDrops.Add(op, n) }

// popOpFault uses up one DropNextOp of op, if any is left.
func (s *Server) popOpFault(op string) (fault, bool) {
	if !s.opDrops.Take(op) {
		return fault{}, false
	}
	return fault{kind: faultDrop}, true
}
