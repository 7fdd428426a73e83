package popolni

// Queued returns how many pay calls and how many status calls wait in b's
// queues, not yet sent: the tests hold the limiter and watch them gather.
func Queued(b *Batcher) (pays, statuses int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.payQ {
		if c.state == queued {
			pays++
		}
	}
	for _, c := range b.statQ {
		if c.state == queued {
			statuses++
		}
	}
	return pays, statuses
}
