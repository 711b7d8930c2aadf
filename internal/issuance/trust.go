package issuance

import (
	"errors"
	"fmt"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// CheckSolvers refuses the solvers a namespaced Issuer may not have, since
// whoever can write an Issuer in a namespace is a tenant, not the platform:
//   - http01.istio writes a port-80 server on the shared ingress gateway:
//     ClusterIssuers only;
//   - a route53 solver without access keys would act with edgecert's own
//     cloud identity (instance role, IRSA) in the platform's hosted zones,
//     and a route53 endpoint would send edgecert's signed requests to any
//     URL: ClusterIssuers only, unless the platform allows them for
//     Issuers too (allowAmbient, --issuer-ambient-credentials, as
//     cert-manager does).
//
// ClusterIssuers, written by the platform, may have all of these. The error
// names the solver and the field.
func CheckSolvers(kind string, solvers []edgecertv1alpha1.ACMESolver, allowAmbient bool) error {
	if kind == edgecertv1alpha1.ClusterIssuerKind {
		return nil
	}
	var errs []error
	for i, s := range solvers {
		if s.HTTP01 != nil && s.HTTP01.Istio != nil {
			errs = append(errs, fmt.Errorf("solvers[%d].http01.istio: routes through the shared ingress gateway are for ClusterIssuers only", i))
		}
		if allowAmbient || s.DNS01 == nil || s.DNS01.Route53 == nil {
			continue
		}
		r := s.DNS01.Route53
		if r.AccessKeyIDSecretRef == nil || r.SecretAccessKeySecretRef == nil {
			errs = append(errs, fmt.Errorf("solvers[%d].dns01.route53: an Issuer must name its credentials (accessKeyIDSecretRef and secretAccessKeySecretRef); edgecert's own AWS identity is for ClusterIssuers unless edgecert runs with --issuer-ambient-credentials", i))
		}
		if r.Endpoint != "" {
			errs = append(errs, fmt.Errorf("solvers[%d].dns01.route53.endpoint: endpoint overrides are for ClusterIssuers unless edgecert runs with --issuer-ambient-credentials", i))
		}
	}
	return errors.Join(errs...)
}
