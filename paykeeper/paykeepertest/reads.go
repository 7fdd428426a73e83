package paykeepertest

// hErrorsTotal counts the failed payments, all under one error group (the
// fake's choice): {"total":N,"totalWithGroup":[{"error_code":"05","total":N,
// "user_description":"Отказ банка-эмитента"}]}, the group left out when N is 0.
func (s *Server) hErrorsTotal(*call) response {
	n := 0
	for _, p := range s.payments {
		if p.Status == StatusFailed {
			n++
		}
	}
	groups := []obj{}
	if n > 0 {
		groups = append(groups, obj{{"error_code", "05"}, {"total", n}, {"user_description", "Отказ банка-эмитента"}})
	}
	return jsonResponse(obj{{"total", n}, {"totalWithGroup", groups}})
}
