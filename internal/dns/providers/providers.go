// Package providers builds the DNS services edgecert's API names (RFC
// 2136, Route53) from their specs, reading the credentials from Secrets:
// one builder for DNS-01 solvers (issuers) and for DNSZones.
package providers

import (
	"context"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/rfc2136"
	"github.com/edgecert/edgecert/internal/dns/route53"
	"github.com/edgecert/edgecert/internal/kube"
)

// Provider is a DNS service edgecert writes to: challenge TXT records
// (DNS-01) and record sets (DNSZone).
type Provider interface {
	edgedns.Provider
	edgedns.Zone
}

// New builds the provider rfc or r53 describes, reading its Secrets from
// namespace with secrets. A setting the provider refuses is a terminal
// error (reconcile.TerminalError), a missing Secret or key is
// kube.Secrets.Value's; with neither spec set it returns nil, nil and the
// caller says what is missing.
func New(ctx context.Context, rfc *edgecertv1alpha1.RFC2136Provider, r53 *edgecertv1alpha1.Route53Provider, secrets kube.Secrets, namespace string) (Provider, error) {
	value := func(ref edgecertv1alpha1.SecretKeySelector) (string, error) {
		v, err := secrets.Value(ctx, namespace, ref)
		return strings.TrimSpace(string(v)), err
	}
	switch {
	case rfc != nil:
		secret, err := value(rfc.TSIGSecretRef)
		if err != nil {
			return nil, err
		}
		p, err := rfc2136.New(rfc2136.Config{Nameserver: rfc.Nameserver, TSIGKeyName: rfc.TSIGKeyName, TSIGAlgorithm: rfc.TSIGAlgorithm, TSIGSecret: secret})
		if err != nil {
			return nil, reconcile.TerminalError(err)
		}
		return p, nil
	case r53 != nil:
		cfg := route53.Config{Region: r53.Region, HostedZoneID: r53.HostedZoneID, BaseEndpoint: r53.Endpoint}
		if ref := r53.AccessKeyIDSecretRef; ref != nil {
			v, err := value(*ref)
			if err != nil {
				return nil, err
			}
			cfg.AccessKeyID = v
		}
		if ref := r53.SecretAccessKeySecretRef; ref != nil {
			v, err := value(*ref)
			if err != nil {
				return nil, err
			}
			cfg.SecretAccessKey = v
		}
		p, err := route53.New(ctx, cfg)
		if err != nil {
			return nil, reconcile.TerminalError(err)
		}
		return p, nil
	}
	return nil, nil
}
