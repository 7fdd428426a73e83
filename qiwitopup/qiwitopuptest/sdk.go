package qiwitopuptest

import (
	"crypto/tls"

	"github.com/paysdk/payments"
)

// ClientOptions returns the options that point an SDK client at this server
// with certificate verification intact: the public base URL ([Server.URL]),
// both [Host] and [PrivateHost] pinned to the server's loopback address, and
// the server's test CA added to the roots. No credentials are included.
//
//	c, err := qiwitopup.New(qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()),
//		srv.ClientOptions()...)
func (s *Server) ClientOptions() []payments.Option {
	return s.base.ClientOptions(s.URL())
}

// PrivateClientOptions is [Server.ClientOptions] for mutual TLS: the base URL
// is [Server.PrivateURL] and cert (from [Server.ClientCertificate]) is
// presented in the handshake.
func (s *Server) PrivateClientOptions(cert tls.Certificate) []payments.Option {
	return append(s.base.ClientOptions(s.PrivateURL()), payments.WithClientCertificate(cert))
}
