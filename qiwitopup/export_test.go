package qiwitopup

// DecodeForBenchmark exposes the answer decoder to the external benchmarks.
func DecodeForBenchmark(b []byte) (int, error) {
	r, err := decodeResponse(b)
	return len(r.Payments), err
}
