// Package acme is edgecert's ACME engine: accounts, and orders advanced one
// non-blocking step at a time, ACME Renewal Information (RFC 9773), and
// error classes that tell a caller whether to wait, retry or give up. It
// builds on github.com/mholt/acmez (JWS, nonces, badNonce retries) and has
// no Kubernetes imports.
package acme

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	acmez "github.com/mholt/acmez/v3/acme"
)

// Engine hands out one Client per directory and CA bundle, so nonces and the
// directory are shared by every reconcile against the same CA.
type Engine struct {
	// Observe, when set, is called after every ACME request with the CA
	// (its directory's host), the endpoint kind and the outcome, for
	// metrics.
	Observe func(ca, endpoint, outcome string)
	// RequestTimeout bounds each call to the CA, retries inside the ACME
	// library included, so that a slow or silent CA cannot hold a worker.
	// Default DefaultRequestTimeout.
	RequestTimeout time.Duration

	mu      sync.Mutex
	clients map[string]*Client
}

// Client returns the shared client for a directory URL and CA bundle (PEM;
// empty means the system roots).
func (e *Engine) Client(directoryURL string, caBundle []byte) (*Client, error) {
	sum := sha256.Sum256(append([]byte(directoryURL+"\x00"), caBundle...))
	id := hex.EncodeToString(sum[:])
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clients[id]; ok {
		return c, nil
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	if len(caBundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caBundle) {
			return nil, errors.New("caBundle holds no PEM certificate")
		}
		base.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	transport := &rateLimitTransport{next: base}
	timeout := e.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	httpClient := &http.Client{Transport: transport, Timeout: timeout}
	c := &Client{
		limits:  transport,
		http:    httpClient,
		timeout: timeout,
		acme: &acmez.Client{
			Directory:  directoryURL,
			HTTPClient: httpClient,
			UserAgent:  "edgecert",
			// Finalize must not wait: a pass posts the CSR and returns; the
			// next pass looks at the order again. acmez polls for
			// PollTimeout after finalizing, so it is set to the least.
			PollTimeout: time.Nanosecond,
		},
		observe: e.Observe,
		ca:      caName(directoryURL),
	}
	if e.clients == nil {
		e.clients = map[string]*Client{}
	}
	e.clients[id] = c
	return c, nil
}

// DefaultRequestTimeout bounds one call to the CA when the Engine does not
// say otherwise. Let's Encrypt answers in well under a second; finalizing
// a large order can take a few.
const DefaultRequestTimeout = 30 * time.Second

// Client talks to one ACME CA.
type Client struct {
	acme    *acmez.Client
	http    *http.Client
	limits  *rateLimitTransport
	timeout time.Duration
	observe func(ca, endpoint, outcome string)
	// ca names the CA in metrics: its directory's host.
	ca string
}

// caName is the host (and port) of a directory URL, or the URL itself
// when it does not parse.
func caName(directoryURL string) string {
	if u, err := url.Parse(directoryURL); err == nil && u.Host != "" {
		return u.Host
	}
	return directoryURL
}

// call bounds one call to the CA by the client's timeout.
func (c *Client) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// record counts a request for metrics and turns a rate limit into a
// RateLimitedError carrying the CA's Retry-After. Every method passes its
// error through it.
func (c *Client) record(endpoint string, err error) error {
	err = c.limits.annotate(err)
	if c.observe == nil {
		return err
	}
	outcome := "ok"
	if err != nil {
		outcome = string(Classify(err).Class)
	}
	c.observe(c.ca, endpoint, outcome)
	return err
}

// Account is a registered account: its key and URL.
type Account struct {
	Key crypto.Signer
	URL string
}

func (a Account) acmez() acmez.Account {
	return acmez.Account{PrivateKey: a.Key, Location: a.URL}
}

// EAB is an External Account Binding from the CA.
type EAB struct {
	KeyID  string
	MACKey string
}

// Register creates the account for key, or finds the one that exists for it
// (ACME returns the existing account for a known key), and returns its URL.
func (c *Client) Register(ctx context.Context, key crypto.Signer, email string, eab *EAB) (string, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	acct := acmez.Account{PrivateKey: key, TermsOfServiceAgreed: true}
	if email != "" {
		acct.Contact = []string{"mailto:" + email}
	}
	if eab != nil {
		if err := acct.SetExternalAccountBinding(ctx, c.acme, acmez.EAB{KeyID: eab.KeyID, MACKey: eab.MACKey}); err != nil {
			err = c.record("newAccount", err)
			return "", fmt.Errorf("external account binding: %w", err)
		}
	}
	got, err := c.acme.NewAccount(ctx, acct)
	err = c.record("newAccount", err)
	if err != nil {
		return "", err
	}
	if got.Status != "" && got.Status != acmez.StatusValid {
		return "", fmt.Errorf("account status is %q", got.Status)
	}
	return got.Location, nil
}

// Profiles returns the certificate profiles the CA advertises.
func (c *Client) Profiles(ctx context.Context) (map[string]string, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	dir, err := c.acme.GetDirectory(ctx)
	err = c.record("directory", err)
	if err != nil {
		return nil, err
	}
	return dir.Meta.Profiles, nil
}

// Order is the part of an ACME order edgecert acts on.
type Order struct {
	URL    string
	Status string
	// Identifiers are the names the order is for, as the CA lists them
	// ("*.example.com" for a wildcard).
	Identifiers    []string
	Authorizations []string
	Finalize       string
	Certificate    string
	Error          error
}

func fromAcmez(o acmez.Order) Order {
	out := Order{URL: o.Location, Status: o.Status, Authorizations: o.Authorizations, Finalize: o.Finalize, Certificate: o.Certificate}
	for _, id := range o.Identifiers {
		out.Identifiers = append(out.Identifiers, id.Value)
	}
	if o.Error != nil {
		out.Error = *o.Error
	}
	return out
}

// NewOrder asks for a certificate for dnsNames, with a profile the CA
// advertises (optional) and, when renewing, the ARI identifier of the
// certificate it replaces.
func (c *Client) NewOrder(ctx context.Context, acct Account, dnsNames []string, profile, replaces string) (Order, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	o := acmez.Order{Profile: profile, Replaces: replaces}
	for _, n := range dnsNames {
		o.Identifiers = append(o.Identifiers, acmez.Identifier{Type: "dns", Value: n})
	}
	got, err := c.acme.NewOrder(ctx, acct.acmez(), o)
	err = c.record("newOrder", err)
	if err != nil {
		return Order{}, err
	}
	return fromAcmez(got), nil
}

// GetOrder reads an order's current state.
func (c *Client) GetOrder(ctx context.Context, acct Account, url string) (Order, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	got, err := c.acme.GetOrder(ctx, acct.acmez(), acmez.Order{Location: url})
	err = c.record("order", err)
	if err != nil {
		return Order{}, err
	}
	return fromAcmez(got), nil
}

// Authorization is the part of an ACME authorization edgecert acts on.
type Authorization struct {
	URL        string
	DNSName    string
	Wildcard   bool
	Status     string
	Challenges []Challenge
}

// Challenge is one way to satisfy an authorization.
type Challenge struct {
	Type   string
	URL    string
	Token  string
	Status string
	// KeyAuthorization is what HTTP-01 serves; DNS01Value is its TXT form.
	KeyAuthorization string
	DNS01Value       string
	Error            error
}

// GetAuthorization reads an authorization and its challenges.
func (c *Client) GetAuthorization(ctx context.Context, acct Account, url string) (Authorization, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	got, err := c.acme.GetAuthorization(ctx, acct.acmez(), url)
	err = c.record("authz", err)
	if err != nil {
		return Authorization{}, err
	}
	a := Authorization{URL: url, DNSName: got.Identifier.Value, Wildcard: got.Wildcard, Status: got.Status}
	for _, ch := range got.Challenges {
		out := Challenge{Type: ch.Type, URL: ch.URL, Token: ch.Token, Status: ch.Status, KeyAuthorization: ch.KeyAuthorization}
		if ch.Type == acmez.ChallengeTypeDNS01 {
			out.DNS01Value = ch.DNS01KeyAuthorization()
		}
		if ch.Error != nil {
			out.Error = *ch.Error
		}
		a.Challenges = append(a.Challenges, out)
	}
	return a, nil
}

// Accept tells the CA to validate a challenge now.
func (c *Client) Accept(ctx context.Context, acct Account, challengeURL string) error {
	ctx, cancel := c.call(ctx)
	defer cancel()
	_, err := c.acme.InitiateChallenge(ctx, acct.acmez(), acmez.Challenge{URL: challengeURL})
	err = c.record("challenge", err)
	return err
}

// Finalize sends the CSR (DER) for a ready order and returns the order as
// the CA answered, without waiting for it to become valid.
func (c *Client) Finalize(ctx context.Context, acct Account, order Order, csr []byte) (Order, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	got, err := c.acme.FinalizeOrder(ctx, acct.acmez(), acmez.Order{Location: order.URL, Finalize: order.Finalize, Status: order.Status}, csr)
	if err != nil && got.Status == acmez.StatusProcessing {
		// PollTimeout is a nanosecond: "took too long" only means "not done yet".
		err = nil
	}
	err = c.record("finalize", err)
	if err != nil {
		return Order{}, err
	}
	if got.Location == "" {
		got.Location = order.URL
	}
	return fromAcmez(got), nil
}

// FetchChain downloads the issued chain as PEM, leaf first: the CA's
// default chain, in one request. (The ACME library's own call also follows
// alternate chains and asks for renewal information, sleeping between
// retries; edgecert asks for renewal information itself, without sleeping.)
func (c *Client) FetchChain(ctx context.Context, acct Account, certURL string) ([]byte, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	chain, _, err := c.postAsGet(ctx, acct, certURL, "application/pem-certificate-chain")
	if err = c.record("certificate", err); err != nil {
		return nil, err
	}
	if !bytes.Contains(chain, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, errors.New("the CA returned no certificate chain")
	}
	return chain, nil
}
