package qiwitopuptest

import "sync"

// opDrops counts, per server and operation, the requests still to be
// dropped by [Server.DropNextOp]. It lives beside the Server, not in it, so
// the switch stays in this file; an entry is removed when its count is used
// up.
var opDrops = struct {
	mu sync.Mutex
	m  map[*Server]map[string]int
}{m: map[*Server]map[string]int{}}

// DropNextOp is [Server.DropNext] for one operation: the next n requests
// whose [Request.Op] is op (OpPay, OpStatus, ...) are processed fully
// (a pay creates its payment, a status moves it) and then the connection is
// closed without an answer. Requests of other operations are not touched
// and do not use it up, so a test can lose the answers of pay requests only
// while the reads around them (check-deposit-possible, status) go through.
//
// For a request of op, this switch comes before the queue of the other
// fault switches, whose head then waits for the next request.
func (s *Server) DropNextOp(op string, n int) {
	if n <= 0 {
		return
	}
	opDrops.mu.Lock()
	defer opDrops.mu.Unlock()
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
