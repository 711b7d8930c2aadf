package certificate

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
)

// HTTP01Solver answers HTTP-01 challenges from Certificate status through
// the manager's cache, so every replica answers, leader or not, and no
// solver pods are needed.
type HTTP01Solver struct {
	// Addr is the listen address, e.g. ":8089"; a Service exposes it.
	Addr   string
	Reader client.Reader
}

// NeedLeaderElection is false: every replica serves challenges.
func (s *HTTP01Solver) NeedLeaderElection() bool { return false }

// Start serves until ctx ends.
func (s *HTTP01Solver) Start(ctx context.Context) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	ctrl.LoggerFrom(ctx).Info("Serving HTTP-01 challenges", "addr", l.Addr().String())
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
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
