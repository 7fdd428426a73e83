package testca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func mustCA(t *testing.T) *CA {
	t.Helper()
	ca, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return ca
}

func verifyServer(ca *CA, cert tls.Certificate, name string) error {
	_, err := cert.Leaf.Verify(x509.VerifyOptions{
		DNSName:   name,
		Roots:     ca.Pool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

func TestCAIsSelfSignedCA(t *testing.T) {
	ca := mustCA(t)
	c := ca.Certificate()
	if !c.IsCA || !c.BasicConstraintsValid {
		t.Fatalf("CA certificate is not marked as a CA")
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Fatalf("CA is not self-signed: %v", err)
	}
	if !c.NotBefore.Before(time.Now()) || !c.NotAfter.After(time.Now().Add(24*time.Hour)) {
		t.Fatalf("CA validity %v..%v does not cover now..now+24h", c.NotBefore, c.NotAfter)
	}
	block, rest := pem.Decode(ca.CertPEM())
	if block == nil || block.Type != "CERTIFICATE" || len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("CertPEM is not exactly one CERTIFICATE block")
	}
	parsed, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !parsed.Equal(c) {
		t.Fatalf("CertPEM does not hold the CA certificate (err %v)", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.CertPEM()) {
		t.Fatal("CertPEM not accepted by AppendCertsFromPEM")
	}
}

func TestServerCertVerifiesForItsHost(t *testing.T) {
	ca := mustCA(t)
	cert, err := ca.ServerCert("popolni.club", "localhost", "127.0.0.1")
	if err != nil {
		t.Fatalf("ServerCert: %v", err)
	}
	for _, name := range []string{"popolni.club", "localhost", "127.0.0.1"} {
		if err := verifyServer(ca, cert, name); err != nil {
			t.Errorf("verify for %q: %v", name, err)
		}
	}
	if got := cert.Leaf.Subject.CommonName; got != "popolni.club" {
		t.Errorf("CommonName = %q, want popolni.club", got)
	}
	if len(cert.Leaf.IPAddresses) != 1 || !cert.Leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) {
		t.Errorf("IP SANs = %v, want [127.0.0.1]", cert.Leaf.IPAddresses)
	}
	if len(cert.Leaf.DNSNames) != 2 {
		t.Errorf("DNS SANs = %v, want popolni.club and localhost", cert.Leaf.DNSNames)
	}
}

func TestServerCertFailsForAnotherName(t *testing.T) {
	ca := mustCA(t)
	cert, err := ca.ServerCert("popolni.club")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"evil.example", "api.popolni.club", "127.0.0.1"} {
		err := verifyServer(ca, cert, name)
		var hostErr x509.HostnameError
		if err == nil {
			t.Errorf("verify for %q succeeded, want a hostname error", name)
		} else if !errors.As(err, &hostErr) {
			t.Errorf("verify for %q: %v, want x509.HostnameError", name, err)
		}
	}
}

func TestServerCertFailsAgainstAnotherCA(t *testing.T) {
	ca, other := mustCA(t), mustCA(t)
	cert, err := ca.ServerCert("popolni.club")
	if err != nil {
		t.Fatal(err)
	}
	_, err = cert.Leaf.Verify(x509.VerifyOptions{DNSName: "popolni.club", Roots: other.Pool()})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("verify against another CA: %v, want x509.UnknownAuthorityError", err)
	}
}

func TestServerCertIsNotAClientCert(t *testing.T) {
	ca := mustCA(t)
	cert, err := ca.ServerCert("popolni.club")
	if err != nil {
		t.Fatal(err)
	}
	_, err = cert.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err == nil {
		t.Fatal("server certificate verified for client auth")
	}
}

func TestServerCertNeedsHosts(t *testing.T) {
	ca := mustCA(t)
	if _, err := ca.ServerCert(); err == nil {
		t.Error("ServerCert() with no hosts: no error")
	}
	if _, err := ca.ServerCert("popolni.club", " "); err == nil {
		t.Error("ServerCert with an empty host: no error")
	}
}

func TestClientCertVerifiesForClientAuth(t *testing.T) {
	ca := mustCA(t)
	cert, err := ca.ClientCert("merchant-42")
	if err != nil {
		t.Fatalf("ClientCert: %v", err)
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{
		Roots:     ca.Pool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		t.Fatalf("client cert does not verify for client auth: %v", err)
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{
		Roots:     ca.Pool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err == nil {
		t.Fatal("client cert verified for server auth")
	}
	if got := cert.Leaf.Subject.CommonName; got != "merchant-42" {
		t.Errorf("CommonName = %q", got)
	}
	if _, err := ca.ClientCert(""); err == nil {
		t.Error("ClientCert(\"\"): no error")
	}
}

func TestPEMForms(t *testing.T) {
	ca := mustCA(t)
	certPEM, keyPEM, err := ca.ClientCertPEM("merchant-42")
	if err != nil {
		t.Fatalf("ClientCertPEM: %v", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" {
		t.Fatalf("key PEM is not a PKCS#8 PRIVATE KEY block")
	}
	if _, err := x509.ParsePKCS8PrivateKey(kb.Bytes); err != nil {
		t.Fatalf("key is not PKCS#8: %v", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("X509KeyPair: %v", err)
	}
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("PEM client cert does not verify: %v", err)
	}

	sc, sk, err := ca.ServerCertPEM("popolni.club")
	if err != nil {
		t.Fatalf("ServerCertPEM: %v", err)
	}
	spair, err := tls.X509KeyPair(sc, sk)
	if err != nil {
		t.Fatalf("X509KeyPair(server): %v", err)
	}
	if err := verifyServer(ca, spair, "popolni.club"); err != nil {
		t.Fatalf("PEM server cert does not verify: %v", err)
	}
}

// TestMutualTLSHandshake runs a real handshake over loopback: the client
// trusts the CA for the server name, the server requires and verifies a
// client certificate from the same CA; a client trusting another CA fails.
func TestMutualTLSHandshake(t *testing.T) {
	ca := mustCA(t)
	serverCert, err := ca.ServerCert("popolni.club")
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := ca.ClientCert("merchant-42")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientCAs:    ca.Pool(),
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peerCN := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			if err := tc.Handshake(); err == nil {
				peerCN <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
			} else {
				peerCN <- ""
			}
			tc.Close()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dial := func(cfg *tls.Config) error {
		d := tls.Dialer{Config: cfg}
		c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		// With TLS 1.3 a rejected client certificate surfaces on the first read.
		_, err = c.Read(make([]byte, 1))
		if err != nil && !strings.Contains(err.Error(), "EOF") {
			return err
		}
		return nil
	}

	if err := dial(&tls.Config{ServerName: "popolni.club", RootCAs: ca.Pool(), Certificates: []tls.Certificate{clientCert}}); err != nil {
		t.Fatalf("mTLS handshake: %v", err)
	}
	if cn := <-peerCN; cn != "merchant-42" {
		t.Fatalf("server saw client CN %q", cn)
	}

	other := mustCA(t)
	if err := dial(&tls.Config{ServerName: "popolni.club", RootCAs: other.Pool(), Certificates: []tls.Certificate{clientCert}}); err == nil {
		t.Fatal("handshake trusting another CA succeeded")
	}
	<-peerCN

	if err := dial(&tls.Config{ServerName: "popolni.club", RootCAs: ca.Pool()}); err == nil {
		t.Fatal("handshake without a client certificate succeeded")
	}
}
