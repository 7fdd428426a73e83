package paykeepertest

import (
	"github.com/paysdk/payments"
)

// ClientOptions returns the options that point an SDK client at this server
// with certificate verification intact: the base URL, [Host] pinned to the
// server's loopback address, and the server's test CA added to the roots.
//
//	c, err := paykeeper.New(creds, srv.ClientOptions()...) // creds: paykeepertest.DefaultUser, DefaultPassword
func (s *Server) ClientOptions() []payments.Option {
	return s.base.ClientOptions(s.URL())
}
