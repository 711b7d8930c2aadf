package certificate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/metrics"
)

// DefaultHTTP01SelfCheckPort is the port a CA connects to for HTTP-01
// (RFC 8555, section 8.3).
const DefaultHTTP01SelfCheckPort = 80

// http01SelfCheckTimeout bounds one self-check: resolving, connecting,
// following redirects and reading the answer.
const http01SelfCheckTimeout = 10 * time.Second

// http01SelfCheckParallel bounds the self-checks of one order run at once,
// and http01SelfCheckBudget the time they take together, so that an
// order of 100 hosts that all hang leaves the pass (2 minutes) time to
// write status; a check cut off by it fails and is made again later.
const (
	http01SelfCheckParallel = 16
	http01SelfCheckBudget   = 2 * http01SelfCheckTimeout
)

// maxKeyAuthorizationBytes is read of an answer at most; a key
// authorization is a token and a key thumbprint, under 200 bytes.
const maxKeyAuthorizationBytes = 1 << 10

// HTTP01SelfCheck fetches an HTTP-01 answer the way the CA will, before the
// CA is told to validate: a failed validation fails the order and counts
// against the CA's limits, a failed self-check only waits.
//
// Like the CA, it resolves the host, connects to Port, sends GET
// /.well-known/acme-challenge/<token> with the host in the Host header on
// a connection of its own, follows up to 10 redirects (to HTTPS too,
// without checking the certificate, as Let's Encrypt does), and compares
// the body, trimmed of white space, with the key authorization. It sees
// what the controller's network sees: a CA on the Internet may still fail
// where it passed (a firewall open to the cluster only), but a host that
// resolves nowhere, a route not yet in place or a listener that answers
// something else is caught before the CA counts it.
type HTTP01SelfCheck struct {
	// Port is the port to connect to (0: DefaultHTTP01SelfCheckPort).
	Port int
	// Nameservers, host:port, resolve the hosts, tried in turn; empty: the
	// system resolver.
	Nameservers []string

	next atomic.Uint32
}

// URL is where the answer for token on host is fetched.
func (c *HTTP01SelfCheck) URL(host, token string) string {
	h := host
	if p := c.port(); p != DefaultHTTP01SelfCheckPort {
		h = net.JoinHostPort(host, strconv.Itoa(p))
	}
	return (&url.URL{Scheme: "http", Host: h, Path: gateway.ChallengePathPrefix + token}).String()
}

func (c *HTTP01SelfCheck) port() int {
	if c.Port > 0 {
		return c.Port
	}
	return DefaultHTTP01SelfCheckPort
}

// Check fetches the answer for token on host and returns nil when it is
// keyAuthorization. The error is stable from one try to the next (no
// local ports), for a condition message.
func (c *HTTP01SelfCheck) Check(ctx context.Context, host, token, keyAuthorization string) error {
	ctx, cancel := context.WithTimeout(ctx, http01SelfCheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL(host, token), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "edgecert HTTP-01 self-check")
	resp, err := c.client().Do(req)
	if err != nil {
		return errors.New(c.describe(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the answer is %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyAuthorizationBytes+1))
	if err != nil {
		return fmt.Errorf("read the answer: %s", stableNetError(err))
	}
	if strings.TrimSpace(string(body)) != keyAuthorization {
		return errors.New("the answer is not the challenge's key authorization")
	}
	return nil
}

// client is a client of its own per check, with no connections kept, as
// a CA's validation has.
func (c *HTTP01SelfCheck) client() *http.Client {
	dialer := &net.Dialer{Resolver: c.resolver()}
	return &http.Client{Transport: &http.Transport{
		DialContext:       dialer.DialContext,
		DisableKeepAlives: true,
		// A CA follows a redirect to HTTPS without checking the
		// certificate: the key authorization is what proves control.
		// Nothing secret is sent.
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: true},
		MaxResponseHeaderBytes: 16 << 10,
	}}
}

// resolver asks the configured nameservers, or is the system's.
func (c *HTTP01SelfCheck) resolver() *net.Resolver {
	if len(c.Nameservers) == 0 {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		ns := c.Nameservers[int(c.next.Add(1))%len(c.Nameservers)]
		var d net.Dialer
		return d.DialContext(ctx, network, ns)
	}}
}

// describe is a failed request's error, stable (see stableNetError), with
// a failed lookup naming the nameservers asked (the resolver's own error
// names the system's, whichever it asked).
func (c *HTTP01SelfCheck) describe(err error) string {
	var de *net.DNSError
	if !errors.As(err, &de) {
		return stableNetError(err)
	}
	servers := "the system resolver"
	if len(c.Nameservers) > 0 {
		servers = strings.Join(c.Nameservers, ", ")
	}
	return fmt.Sprintf("lookup %s through %s: %s", de.Name, servers, de.Err)
}

// stableNetError is err's message without what changes between tries: the
// URL (the caller names it) and the local address of a connection.
func stableNetError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		c := *oe
		c.Source = nil
		return c.Error()
	}
	return err.Error()
}

// pendingSelfCheck is an HTTP-01 answer in place, to be fetched before it
// counts as answerable.
type pendingSelfCheck struct {
	ch *edgecertv1alpha1.ChallengeStatus
	f  *issuance.Authorization
}

// answerInPlace notes that an HTTP-01 answer is recorded (and routed): it
// is answerable now, or, with the self-check on, once runSelfChecks
// fetched it.
func (r *Reconciler) answerInPlace(s *scope, ch *edgecertv1alpha1.ChallengeStatus, f *issuance.Authorization) {
	if r.HTTP01SelfCheck == nil || skipsSelfCheck(s.iss, ch.Solver) {
		f.Answerable = true
		return
	}
	s.selfChecks = append(s.selfChecks, pendingSelfCheck{ch: ch, f: f})
}

// runSelfChecks fetches the answers present found in place, a few at a
// time, and marks each answerable or, with the URL and the error, waiting
// (issuance.Authorization.SelfCheckFailures).
func (r *Reconciler) runSelfChecks(ctx context.Context, s *scope) {
	checks := s.selfChecks
	s.selfChecks = nil
	if len(checks) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, http01SelfCheckBudget)
	defer cancel()
	errs := make([]error, len(checks))
	sem := make(chan struct{}, http01SelfCheckParallel)
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = r.HTTP01SelfCheck.Check(ctx, c.ch.DNSName, c.ch.Token, c.ch.KeyAuthorization)
		}()
	}
	wg.Wait()
	for i, c := range checks {
		if errs[i] == nil {
			metrics.HTTP01SelfChecks.WithLabelValues("passed").Inc()
			r.selfCheckFailures.Delete(c.ch.URL)
			c.f.Answerable, c.f.SelfCheckFailures = true, 0
			continue
		}
		metrics.HTTP01SelfChecks.WithLabelValues("failed").Inc()
		n := 1
		if v, ok := r.selfCheckFailures.Load(c.ch.URL); ok {
			n = v.(int) + 1
		}
		r.selfCheckFailures.Store(c.ch.URL, n)
		c.f.SelfCheckFailures = n
		c.f.Waiting = fmt.Sprintf("the HTTP-01 answer for %s to be served at %s (%v)", c.f.Name, r.HTTP01SelfCheck.URL(c.ch.DNSName, c.ch.Token), errs[i])
		ctrl.LoggerFrom(ctx).V(1).Info("HTTP-01 self-check failed", "host", c.ch.DNSName, "failures", n, "error", errs[i].Error())
	}
}

// skipsSelfCheck reports whether the issuer's solver idx opted out of the
// self-check.
func skipsSelfCheck(iss *issuerFacts, idx int) bool {
	solvers := iss.obj.GetSpec().ACME.Solvers
	return idx >= 0 && idx < len(solvers) && solvers[idx].HTTP01 != nil && solvers[idx].HTTP01.SkipSelfCheck
}
