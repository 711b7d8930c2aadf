package certificate

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/netutil"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
)

// The HTTP-01 listener's limits. A CA's validation is one small GET on a
// fresh connection that it reads at once, so these are far above what it
// needs and far below what lets a client hold a connection or memory.
const (
	// DefaultHTTP01MaxConnections is how many connections the listener
	// serves at once (--http01-max-connections); more wait in the kernel's
	// accept queue until one closes, so a CA behind a flood still gets in
	// once the timeouts below have closed the flood's connections.
	DefaultHTTP01MaxConnections = 256
	// DefaultHTTP01ReadHeaderTimeout closes a connection whose request
	// headers are not all in by then: a slowloris client, or one that
	// sends nothing, holds a connection that long.
	DefaultHTTP01ReadHeaderTimeout = 5 * time.Second
	// DefaultHTTP01ReadTimeout bounds reading a whole request.
	DefaultHTTP01ReadTimeout = 10 * time.Second
	// DefaultHTTP01WriteTimeout bounds writing the answer, so a client that
	// does not read cannot hold the connection.
	DefaultHTTP01WriteTimeout = 10 * time.Second
	// DefaultHTTP01IdleTimeout closes a kept-alive connection with no next
	// request (CAs open a connection per validation).
	DefaultHTTP01IdleTimeout = 15 * time.Second
	// HTTP01MaxHeaderBytes bounds request headers (Go's server allows 4 KiB
	// more for its buffer); a larger header gets 431. A CA's request has a
	// handful of short headers.
	HTTP01MaxHeaderBytes = 4 << 10
)

// HTTP01Solver answers HTTP-01 challenges from Certificate status through
// the manager's cache, so every replica answers, leader or not, and no
// solver pods are needed. Anyone who reaches it may connect, so it bounds
// what a connection may hold: time (header, read, write and idle
// timeouts), header size, and the number of connections served at once.
type HTTP01Solver struct {
	// Addr is the listen address, e.g. ":8089"; a Service exposes it.
	Addr   string
	Reader client.Reader
	// MaxConnections caps the connections served at once (0:
	// DefaultHTTP01MaxConnections).
	MaxConnections int
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout (0: the
	// defaults above) are the server's timeouts.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
}

// NeedLeaderElection is false: every replica serves challenges.
func (s *HTTP01Solver) NeedLeaderElection() bool { return false }

// Start serves until ctx ends.
func (s *HTTP01Solver) Start(ctx context.Context) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: withDefault(s.ReadHeaderTimeout, DefaultHTTP01ReadHeaderTimeout),
		ReadTimeout:       withDefault(s.ReadTimeout, DefaultHTTP01ReadTimeout),
		WriteTimeout:      withDefault(s.WriteTimeout, DefaultHTTP01WriteTimeout),
		IdleTimeout:       withDefault(s.IdleTimeout, DefaultHTTP01IdleTimeout),
		MaxHeaderBytes:    HTTP01MaxHeaderBytes,
	}
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	maxConns := s.MaxConnections
	if maxConns <= 0 {
		maxConns = DefaultHTTP01MaxConnections
	}
	ctrl.LoggerFrom(ctx).Info("Serving HTTP-01 challenges", "addr", l.Addr().String(), "maxConnections", maxConns)
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(netutil.LimitListener(l, maxConns)); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ServeHTTP answers GET /.well-known/acme-challenge/<token> with the key
// authorization of the Certificate whose order holds that token and whose
// challenge is for the requested host.
func (s *HTTP01Solver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	token, ok := strings.CutPrefix(req.URL.Path, gateway.ChallengePathPrefix)
	if !ok || token == "" || strings.Contains(token, "/") || (req.Method != http.MethodGet && req.Method != http.MethodHead) {
		http.NotFound(w, req)
		return
	}
	host := req.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	var list edgecertv1alpha1.CertificateList
	if err := s.Reader.List(req.Context(), &list, client.MatchingFields{tokenIndex: token}); err != nil {
		http.Error(w, "lookup failed", http.StatusServiceUnavailable)
		return
	}
	for _, c := range list.Items {
		if c.Status.Order == nil {
			continue
		}
		for _, ch := range c.Status.Order.Challenges {
			if ch.Token == token && ch.KeyAuthorization != "" && strings.EqualFold(ch.DNSName, host) {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = w.Write([]byte(ch.KeyAuthorization))
				return
			}
		}
	}
	http.NotFound(w, req)
}
