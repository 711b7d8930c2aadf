package certificate

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/rfc2136"
)

// dnsSolver is a DNS-01 solver made ready to use: a provider and the
// resolver that checks propagation.
type dnsSolver struct {
	provider edgedns.Provider
	resolver *edgedns.Resolver
}

// buildDNSSolver turns a solver's spec into a provider, reading the Secrets
// it references from secretNamespace.
func (r *Reconciler) buildDNSSolver(ctx context.Context, spec *edgecertv1alpha1.DNS01Solver, secretNamespace string) (*dnsSolver, error) {
	resolver := &edgedns.Resolver{Nameservers: spec.Nameservers, AuthoritativeNameservers: spec.Nameservers}
	switch {
	case spec.RFC2136 != nil:
		secret, err := r.Secrets.Value(ctx, secretNamespace, spec.RFC2136.TSIGSecretRef)
		if err != nil {
			return nil, err
		}
		p, err := rfc2136.New(rfc2136.Config{
			Nameserver:    spec.RFC2136.Nameserver,
			TSIGKeyName:   spec.RFC2136.TSIGKeyName,
			TSIGAlgorithm: spec.RFC2136.TSIGAlgorithm,
			TSIGSecret:    strings.TrimSpace(string(secret)),
		})
		if err != nil {
			return nil, reconcile.TerminalError(err)
		}
		return &dnsSolver{provider: p, resolver: resolver}, nil
	case spec.Route53 != nil:
		return nil, reconcile.TerminalError(fmt.Errorf("the route53 DNS-01 provider is not wired into the controller yet"))
	}
	return nil, reconcile.TerminalError(fmt.Errorf("dns01 solver has no provider"))
}
