package ingress

import (
	networkingv1 "k8s.io/api/networking/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// IngressCertificates returns one Certificate per spec.tls secretName, in
// the Ingress's namespace, covering the hosts of every tls entry naming
// that Secret (as cert-manager's ingress-shim does). Entries without a
// secretName or without a host a certificate can name are skipped.
func IngressCertificates(ing *networkingv1.Ingress, issuer edgecertv1alpha1.IssuerReference, o Options) ([]Certificate, error) {
	var secrets secretHosts
	for _, t := range ing.Spec.TLS {
		if t.SecretName != "" {
			secrets.add(secretKey{ing.Namespace, t.SecretName}, t.Hosts...)
		}
	}
	return secrets.certificates(issuer, ing.Annotations, o)
}
