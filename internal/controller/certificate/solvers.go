package certificate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/providers"
	"github.com/edgecert/edgecert/internal/kube"
)

// dnsSolver is a DNS-01 solver made ready to use: a provider and the
// resolver that finds zones and checks propagation.
type dnsSolver struct {
	provider edgedns.Provider
	resolver *edgedns.Resolver
}

// solverTTL bounds how long a built solver is reused: the Secrets it was
// built from (TSIG keys, AWS credentials) are read again after that, so a
// rotated credential is picked up without reading it on every pass.
const solverTTL = time.Minute

type cachedSolver struct {
	solver  *dnsSolver
	expires time.Time
}

// solverFor is dnsSolver for a pass: a solver that cannot be built for a
// reason a person must fix (a missing Secret, a bad setting) stalls the
// pass with InvalidSpec; other errors are returned.
func (r *Reconciler) solverFor(ctx context.Context, s *scope, idx int) (*dnsSolver, error) {
	solver, err := r.dnsSolver(ctx, s.iss, idx, r.firstSightOfRenewRequest(s.cert))
	if errors.Is(err, reconcile.TerminalError(nil)) {
		s.facts.block(edgecertv1alpha1.ReasonInvalidSpec, kube.TerminalMessage(err), true)
		s.stop()
		return nil, nil
	}
	return solver, err
}

// dnsSolver returns the issuer's solver idx, ready to use. It is built once
// per issuer generation and minute (or again when rebuild is set): passes
// of orders in flight poll every few milliseconds and must not re-read
// Secrets each time.
func (r *Reconciler) dnsSolver(ctx context.Context, iss *issuerFacts, idx int, rebuild bool) (*dnsSolver, error) {
	key := fmt.Sprintf("%s/%d/%d", iss.obj.GetUID(), iss.obj.GetGeneration(), idx)
	now := r.Now()
	if c, ok := r.solvers.Load(key); ok && !rebuild && now.Before(c.(cachedSolver).expires) {
		return c.(cachedSolver).solver, nil
	}
	solvers := iss.obj.GetSpec().ACME.Solvers
	if idx < 0 || idx >= len(solvers) || solvers[idx].DNS01 == nil {
		return nil, reconcile.TerminalError(fmt.Errorf("solver %d is not a dns01 solver", idx))
	}
	spec := solvers[idx].DNS01
	s, err := r.buildDNSSolver(ctx, spec, iss.secretsNS)
	if err != nil {
		return nil, err
	}
	r.solvers.Store(key, cachedSolver{solver: s, expires: now.Add(solverTTL)})
	return s, nil
}

// buildDNSSolver turns a solver's spec into a provider, reading the Secrets
// it references from secretNamespace.
func (r *Reconciler) buildDNSSolver(ctx context.Context, spec *edgecertv1alpha1.DNS01Solver, secretNamespace string) (*dnsSolver, error) {
	p, err := providers.New(ctx, spec.RFC2136, spec.Route53, r.Secrets, secretNamespace)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, reconcile.TerminalError(fmt.Errorf("dns01 solver has no provider"))
	}
	return &dnsSolver{provider: p, resolver: &edgedns.Resolver{Nameservers: spec.Nameservers, AuthoritativeNameservers: spec.Nameservers}}, nil
}

// firstSightOfRenewRequest reports whether this process sees the
// Certificate's pending request to renew for the first time. Such a
// request often comes from a person who has just fixed the issuer's
// credentials (a TSIG key, AWS keys), so the solvers are built again from
// the Secrets instead of reused from the cache.
func (r *Reconciler) firstSightOfRenewRequest(cert *edgecertv1alpha1.Certificate) bool {
	v := renewRequested(cert)
	if v == "" {
		return false
	}
	prev, loaded := r.renewSeen.Swap(cert.UID, v)
	return !loaded || prev.(string) != v
}
