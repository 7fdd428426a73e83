package qiwitopup

import (
	"bytes"
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
	"github.com/paysdk/payments/internal/transport"
)

const provider = "qiwitopup"

// The endpoints of the document. xmlcp.jsp (mobile operator lookup) sits
// beside topup.jsp on the same host.
const (
	DefaultURL        = "https://api.qiwi.com/xml/topup.jsp"
	DefaultPrivateURL = "https://private-api.qiwi.com/xml/topup.jsp"
)

// SignAlg is the X-Digital-Sign-Alg of signature authentication.
type SignAlg string

// The two algorithms of the document: RSASSA-PKCS1-v1_5 with SHA-1 or MD5.
const (
	SHA1withRSA SignAlg = "SHA1withRSA"
	MD5withRSA  SignAlg = "MD5withRSA"
)

// Auth is how the agent authenticates: one of PasswordAuth, SignatureAuth,
// CertificateAuth. It never prints its secrets.
type Auth struct {
	mode       string
	terminalID string
	password   string
	signer     crypto.Signer
	alg        SignAlg
	cert       tls.Certificate
	caPEM      []byte
}

// PasswordAuth is the default: terminal-id and extra name="password" in
// every request ("Аутентификация запросов выполняется по логину и паролю").
func PasswordAuth(terminalID, password string) Auth {
	return Auth{mode: "password", terminalID: terminalID, password: password}
}

// SignatureAuth signs every request with the agent's RSA key: X-Digital-Sign
// is the base64 (standard, padded) RSASSA-PKCS1-v1_5 signature of the exact
// body bytes, X-Digital-Sign-Alg names alg (SHA1withRSA when empty). The
// password element is left out ("При авторизации по ЭЦП тег с паролем
// ... не используется"); terminal-id stays. The document does not say which
// bytes are signed: the whole POST body, as every public client of QIWI's
// sister XML protocol does, is the default and only choice.
func SignatureAuth(terminalID string, key crypto.Signer, alg SignAlg) Auth {
	if alg == "" {
		alg = SHA1withRSA
	}
	return Auth{mode: "signature", terminalID: terminalID, signer: key, alg: alg}
}

// CertificateAuth uses mutual TLS with the client certificate QIWI issued,
// against private-api.qiwi.com, and adds qiwiCAPEM (the CA certificate QIWI
// hands over) to the trusted roots. The document does not say whether the
// password is still needed with a certificate: pass it to send it (the
// likely default, and harmless), or "" to leave it out.
func CertificateAuth(terminalID string, cert tls.Certificate, qiwiCAPEM []byte, password string) Auth {
	return Auth{mode: "certificate", terminalID: terminalID, cert: cert, caPEM: qiwiCAPEM, password: password}
}

// ParsePrivateKeyPEM reads an unencrypted RSA private key in PKCS#1
// ("RSA PRIVATE KEY", openssl genrsa 1.x) or PKCS#8 ("PRIVATE KEY",
// openssl 3.x) PEM. Decrypt an encrypted key first (openssl rsa -in).
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("qiwitopup: no PEM block in the key data")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("qiwitopup: PKCS#8 key could not be parsed")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("qiwitopup: the key is not an RSA key")
		}
		return rk, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("qiwitopup: encrypted key: decrypt it first (openssl rsa -in key.pem -out plain.pem)")
	}
	return nil, fmt.Errorf("qiwitopup: unexpected PEM block %q", block.Type)
}

// Client talks to QIWI's Top-Up XML API for one agent terminal. It is
// immutable and safe for concurrent use. It never prints its password or
// keys, whatever the fmt verb or slog handler; its fields are pointers, so
// a Client value printed by mistake shows addresses only.
//
// Each method that sends a request is one OpenTelemetry operation, with
// its HTTP attempts as child spans, recorded with the providers of
// payments.WithTracerProvider and payments.WithMeterProvider (the global
// ones by default, which record nothing until the application sets them):
// "qiwitopup pay" (the five Pay methods, payments.ref the
// transaction-number), "qiwitopup status", "qiwitopup
// check-deposit-possible", "qiwitopup check-user", "qiwitopup ping" and
// "qiwitopup get-provider" (ProviderByPhone). An operation's outcome is what
// QIWI's answer meant: a result-code refusal in a 200 body is refused, with
// the code. Payout is made of these operations.
type Client struct {
	t    *transport.Client
	tel  *telemetry.Telemetry
	auth *Auth
}

// New returns a client. It sends nothing. By default it posts to
// DefaultURL, or DefaultPrivateURL with CertificateAuth; payments.WithBaseURL
// overrides either.
func New(auth Auth, opts ...payments.Option) (*Client, error) {
	if !digitsOnly(auth.terminalID, 20) {
		return nil, &payments.ValidationError{Field: "terminal-id", Reason: "a positive integer is required"}
	}
	base := DefaultURL
	var authOpts []payments.Option
	switch auth.mode {
	case "password":
		if auth.password == "" {
			return nil, &payments.ValidationError{Field: "password", Reason: "empty"}
		}
	case "signature":
		if auth.signer == nil {
			return nil, &payments.ValidationError{Field: "key", Reason: "no signing key"}
		}
		if _, ok := auth.signer.Public().(*rsa.PublicKey); !ok {
			return nil, &payments.ValidationError{Field: "key", Reason: "the document asks for an RSA key"}
		}
		if auth.alg != SHA1withRSA && auth.alg != MD5withRSA {
			return nil, &payments.ValidationError{Field: "alg", Reason: "SHA1withRSA or MD5withRSA"}
		}
	case "certificate":
		base = DefaultPrivateURL
		authOpts = append(authOpts, payments.WithClientCertificate(auth.cert))
		if len(auth.caPEM) > 0 {
			authOpts = append(authOpts, payments.WithRootCAsPEM(auth.caPEM))
		}
	default:
		return nil, &payments.ValidationError{Field: "auth", Reason: "use PasswordAuth, SignatureAuth or CertificateAuth"}
	}
	t, err := transport.New(transport.Config{Provider: provider, DefaultBaseURL: base, Secrets: secrets(auth)},
		append(authOpts, opts...)...)
	if err != nil {
		return nil, err
	}
	return &Client{t: t, tel: t.Telemetry(), auth: &auth}, nil
}

// secrets are what no error may quote: the password, as given and in the
// escaped forms a server echoing our XML body would quote it (xml.EscapeText,
// as the body carries it, and the minimal &, <, > escaping). The signature
// modes send no secret: the key never leaves, and X-Digital-Sign is a
// signature of that one body.
func secrets(a Auth) []string {
	if a.password == "" {
		return nil
	}
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(a.password))
	return []string{a.password, b.String(), strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(a.password)}
}

// Close releases the client's idle connections and the goroutines that keep
// them. Calls after Close fail with a *payments.TransportError (Written
// false: nothing is sent); calls in flight finish. Safe to call more than
// once; it always returns nil.
func (c *Client) Close() error { return c.t.Close() }

// credentials returns the password element, when the mode sends one.
func (c *Client) credentials() []node {
	if c.auth.mode == "signature" || c.auth.password == "" {
		return nil
	}
	return []node{extra("password", c.auth.password)}
}

// send posts an encoded request and decodes the answer. The body is signed
// once; every attempt sends the same bytes and the same signature.
func (c *Client) send(ctx context.Context, op string, kind transport.Kind, ref string, body []byte, sibling string) (response, error) {
	req := &transport.Request{Op: op, Kind: kind, Ref: ref, Method: http.MethodPost, ContentType: "application/xml; charset=utf-8",
		Body: body, SiblingPath: sibling}
	if c.auth.mode == "signature" {
		sig, err := sign(c.auth.signer, c.auth.alg, body)
		if err != nil { // nothing was sent
			return response{}, &payments.TransportError{Provider: provider, Op: op, Err: err}
		}
		req.Header = http.Header{"X-Digital-Sign": {sig}, "X-Digital-Sign-Alg": {string(c.auth.alg)}}
	}
	resp, err := c.t.Do(ctx, req)
	if err != nil {
		return response{}, err
	}
	if resp.Status != http.StatusOK { // "HTTP-статус не равен 200": no answer (_topup_ru.html.md)
		return response{}, c.malformed(op, resp.Status, resp.Body, fmt.Errorf("HTTP status %d, not 200", resp.Status))
	}
	r, err := decodeResponse(resp.Body)
	if err != nil {
		return response{}, c.malformed(op, resp.Status, resp.Body, err)
	}
	c.scrubResponse(&r)
	return r, nil
}

// malformed is the error of an answer that could not be read, with the
// client's secrets scrubbed out. The decoder's reason quotes pieces of the
// body cut to 40 bytes, which can cut an echoed password in two where no
// scrubber would recognise it: when the body held a secret, the reason is
// taken from decoding the body with the secrets already replaced.
func (c *Client) malformed(op string, status int, body []byte, reason error) error {
	if clean := c.t.ScrubText(string(body)); clean != string(body) {
		if _, err := decodeResponse([]byte(clean)); err != nil {
			reason = err
		} else {
			reason = errors.New("undecodable answer")
		}
	}
	return c.t.Malformed(op, status, body, reason)
}

// scrubResponse removes the client's secrets from every text of a decoded
// answer that reaches the caller (messages, accounts, extras): a server
// echoing the request would otherwise hand the password back in a Payment.
func (c *Client) scrubResponse(r *response) {
	r.Message = c.t.ScrubText(r.Message)
	r.ProviderID = c.t.ScrubText(r.ProviderID)
	for i := range r.Payments {
		p := &r.Payments[i]
		p.Message, p.Account, p.TxnID = c.t.ScrubText(p.Message), c.t.ScrubText(p.Account), c.t.ScrubText(p.TxnID)
		p.FromCurrency, p.ToCurrency = c.t.ScrubText(p.FromCurrency), c.t.ScrubText(p.ToCurrency)
		for k, v := range p.Extras {
			p.Extras[k] = c.t.ScrubText(v)
		}
	}
	for i := range r.Balances {
		r.Balances[i].Currency = c.t.ScrubText(r.Balances[i].Currency)
	}
}

func sign(key crypto.Signer, alg SignAlg, body []byte) (string, error) {
	var (
		digest []byte
		h      crypto.Hash
	)
	switch alg {
	case MD5withRSA:
		sum := md5.Sum(body)
		digest, h = sum[:], crypto.MD5
	default:
		sum := sha1.Sum(body)
		digest, h = sum[:], crypto.SHA1
	}
	sig, err := key.Sign(rand.Reader, digest, h)
	if err != nil {
		return "", fmt.Errorf("qiwitopup: signing the request: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// requestError is the error of an answer whose <result-code> is not 0 and
// that carries none of the data asked for, with the client's secrets
// scrubbed from the provider's text.
func (c *Client) requestError(op string, r response) error {
	cat, detail := r.Code.category()
	if cat == nil {
		cat = payments.ErrUnavailable
	}
	return c.t.ScrubError(&payments.APIError{Provider: provider, Op: op, Code: strconv.Itoa(int(r.Code)),
		Message: firstNonEmpty(payments.MaskPAN(r.Message), r.Code.String()), Category: cat, Detail: detail})
}

func digitsOnly(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
