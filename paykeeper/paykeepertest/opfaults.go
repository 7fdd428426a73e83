package paykeepertest

import "sync"

// opDrops counts, per server and operation, the requests still to be
// dropped by [Server.DropNextOp]. It lives beside the Server, not in it, so
// that the switch stays in this file; an entry is removed when its count is
// used up or cleared.
var opDrops = struct {
	mu sync.Mutex
	m  map[*Server]map[string]int
}{m: map[*Server]map[string]int{}}

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
func (s *Server) DropNextOp(op string, n int) {
	opDrops.mu.Lock()
	defer opDrops.mu.Unlock()
	if n <= 0 {
		if ops := opDrops.m[s]; ops != nil {
			delete(ops, op)
			if len(ops) == 0 {
				delete(opDrops.m, s)
			}
		}
		return
	}
	if opDrops.m[s] == nil {
		opDrops.m[s] = map[string]int{}
	}
	opDrops.m[s][op] += n
}

// popOpFault uses up one DropNextOp of op, if any is left.
func (s *Server) popOpFault(op string) (fault, bool) {
	opDrops.mu.Lock()
	defer opDrops.mu.Unlock()
	ops := opDrops.m[s]
	if ops[op] == 0 {
		return fault{}, false
	}
	if ops[op]--; ops[op] == 0 {
		delete(ops, op)
		if len(ops) == 0 {
			delete(opDrops.m, s)
		}
	}
	return fault{kind: faultDrop}, true
}
