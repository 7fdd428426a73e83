// Package testca is a tiny certificate authority for tests.
//
// The provider fakes (popolnitest and its siblings) serve TLS with a
// certificate for the provider's real host name (popolni.club, api.qiwi.com...)
// issued by a CA made here; the client under test trusts that CA and pins the
// host name to loopback. Certificate verification therefore runs exactly as in
// production: there is never a need to switch it off.
//
// Every key is ECDSA P-256. Nothing here is fit for anything but tests.
package testca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// Validity of certificates made here. Generous on purpose: a test binary that
// holds a CA for a long time, or a machine whose clock is off by minutes, must
// not see expired certificates.
const (
	backdate     = time.Hour
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 5 * 365 * 24 * time.Hour
)

// CA is a self-signed test certificate authority. It is immutable after New
// and safe for concurrent use.
type CA struct {
	cert    *x509.Certificate
	certDER []byte
	key     *ecdsa.PrivateKey
}

// New makes a fresh self-signed CA with its own P-256 key, valid from an hour
// ago for ten years. Each call makes an unrelated CA: certificates from one do
// not verify against another's Pool.
func New() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testca: generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tag := serial.Text(16)
	if len(tag) > 8 {
		tag = tag[:8]
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization: []string{"paysdk tests"},
			CommonName:   "paysdk test CA " + tag,
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("testca: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testca: parse CA certificate: %w", err)
	}
	return &CA{cert: cert, certDER: der, key: key}, nil
}

// Certificate returns the parsed CA certificate. Callers must not modify it.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM returns the CA certificate as one PEM "CERTIFICATE" block, the form
// a client adds to its trusted roots.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.certDER})
}

// Pool returns a new certificate pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// ServerCert issues a TLS server certificate (ExtKeyUsageServerAuth) for
// hosts. A host that parses as an IP address goes into the IP SANs, any other
// into the DNS SANs. The first host is also the subject common name. At least
// one host is required.
func (ca *CA) ServerCert(hosts ...string) (tls.Certificate, error) {
	der, key, err := ca.serverLeaf(hosts)
	if err != nil {
		return tls.Certificate{}, err
	}
	return toTLS(der, key)
}

// ServerCertPEM is ServerCert in PEM form: the leaf certificate and its
// PKCS#8 private key.
func (ca *CA) ServerCertPEM(hosts ...string) (certPEM, keyPEM []byte, err error) {
	der, key, err := ca.serverLeaf(hosts)
	if err != nil {
		return nil, nil, err
	}
	return toPEM(der, key)
}

// ClientCert issues a TLS client certificate (ExtKeyUsageClientAuth) with the
// given subject common name, for servers that require mutual TLS.
func (ca *CA) ClientCert(commonName string) (tls.Certificate, error) {
	der, key, err := ca.clientLeaf(commonName)
	if err != nil {
		return tls.Certificate{}, err
	}
	return toTLS(der, key)
}

// ClientCertPEM is ClientCert in PEM form: the leaf certificate and its
// PKCS#8 private key ("PRIVATE KEY" block).
func (ca *CA) ClientCertPEM(commonName string) (certPEM, keyPEM []byte, err error) {
	der, key, err := ca.clientLeaf(commonName)
	if err != nil {
		return nil, nil, err
	}
	return toPEM(der, key)
}

func (ca *CA) serverLeaf(hosts []string) ([]byte, *ecdsa.PrivateKey, error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("testca: ServerCert needs at least one host")
	}
	tmpl := &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(h), "["), "]")
		if h == "" {
			return nil, nil, errors.New("testca: ServerCert: empty host")
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
		if tmpl.Subject.CommonName == "" {
			tmpl.Subject.CommonName = h
		}
	}
	return ca.issue(tmpl)
}

func (ca *CA) clientLeaf(cn string) ([]byte, *ecdsa.PrivateKey, error) {
	if strings.TrimSpace(cn) == "" {
		return nil, nil, errors.New("testca: ClientCert needs a common name")
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return ca.issue(tmpl)
}

// issue fills in what every leaf shares and signs tmpl with the CA key.
func (ca *CA) issue(tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("testca: generate leaf key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.Subject.Organization = []string{"paysdk tests"}
	tmpl.NotBefore = now.Add(-backdate)
	tmpl.NotAfter = now.Add(leafValidity)
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("testca: create leaf certificate: %w", err)
	}
	return der, key, nil
}

func toTLS(der []byte, key *ecdsa.PrivateKey) (tls.Certificate, error) {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("testca: parse leaf certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func toPEM(der []byte, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("testca: marshal key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
	return certPEM, keyPEM, nil
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("testca: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil // never zero
}
