package popolnitest

import (
	"github.com/paysdk/payments"
)

// ClientOptions returns the options that point an SDK client at this server
// with certificate verification intact: the base URL, popolni.club pinned to
// the server's loopback address, and the server's test CA added to the roots.
//
//	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
//		append(srv.ClientOptions(), payments.WithTestTiming())...)
//	defer c.Close()
//
// payments.WithTestTiming drops the client's limiter and backoff; leave it
// out to test pacing against the fake's rate limit.
func (s *Server) ClientOptions() []payments.Option {
	return s.base.ClientOptions(s.URL())
}
