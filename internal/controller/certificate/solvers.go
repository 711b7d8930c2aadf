package certificate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/rfc2136"
	"github.com/edgecert/edgecert/internal/dns/route53"
)

// dnsSolver is a DNS-01 solver made ready to use: a provider and the
// resolver that finds zones and checks propagation.
type dnsSolver struct {
	provider edgedns.Provider
	resolver *edgedns.Resolver
}

// buildDNSSolver turns a solver's spec into a provider, reading the Secrets
// it references from secretNamespace. Providers are kept and reused while
// their settings (secrets included) are unchanged: the Route53 provider
// caches hosted zone ids.
func (r *Reconciler) buildDNSSolver(ctx context.Context, spec *edgecertv1alpha1.DNS01Solver, secretNamespace string) (*dnsSolver, error) {
	resolver := &edgedns.Resolver{Nameservers: spec.Nameservers, AuthoritativeNameservers: spec.Nameservers}
	switch {
	case spec.RFC2136 != nil:
		secret, err := r.Secrets.Value(ctx, secretNamespace, spec.RFC2136.TSIGSecretRef)
		if err != nil {
			return nil, err
		}
		cfg := rfc2136.Config{
			Nameserver:    spec.RFC2136.Nameserver,
			TSIGKeyName:   spec.RFC2136.TSIGKeyName,
			TSIGAlgorithm: spec.RFC2136.TSIGAlgorithm,
			TSIGSecret:    strings.TrimSpace(string(secret)),
		}
		return r.cachedSolver(fmt.Sprintf("rfc2136 %+v %v", cfg, spec.Nameservers), resolver, func() (edgedns.Provider, error) {
			return rfc2136.New(cfg)
		})
	case spec.Route53 != nil:
		cfg := route53.Config{Region: spec.Route53.Region, HostedZoneID: spec.Route53.HostedZoneID, BaseEndpoint: spec.Route53.Endpoint}
		if ref := spec.Route53.AccessKeyIDSecretRef; ref != nil {
			v, err := r.Secrets.Value(ctx, secretNamespace, *ref)
			if err != nil {
				return nil, err
			}
			cfg.AccessKeyID = strings.TrimSpace(string(v))
		}
		if ref := spec.Route53.SecretAccessKeySecretRef; ref != nil {
			v, err := r.Secrets.Value(ctx, secretNamespace, *ref)
			if err != nil {
				return nil, err
			}
			cfg.SecretAccessKey = strings.TrimSpace(string(v))
		}
		return r.cachedSolver(fmt.Sprintf("route53 %+v %v", cfg, spec.Nameservers), resolver, func() (edgedns.Provider, error) {
			return route53.New(ctx, cfg)
		})
	}
	return nil, reconcile.TerminalError(fmt.Errorf("dns01 solver has no provider"))
}

// cachedSolver returns the solver built for these exact settings, building
// it on first use. The key is hashed so no secret stays in memory twice.
func (r *Reconciler) cachedSolver(settings string, resolver *edgedns.Resolver, build func() (edgedns.Provider, error)) (*dnsSolver, error) {
	sum := sha256.Sum256([]byte(settings))
	key := hex.EncodeToString(sum[:])
	if s, ok := r.solvers.Load(key); ok {
		return s.(*dnsSolver), nil
	}
	p, err := build()
	if err != nil {
		return nil, reconcile.TerminalError(err)
	}
	s, _ := r.solvers.LoadOrStore(key, &dnsSolver{provider: p, resolver: resolver})
	return s.(*dnsSolver), nil
}
