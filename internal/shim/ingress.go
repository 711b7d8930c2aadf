package shim

import (
	networkingv1 "k8s.io/api/networking/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// IngressCertificates returns one Certificate per spec.tls secretName, in
// the Ingress's namespace, covering the hosts of every tls entry naming
// that Secret (as cert-manager's ingress-shim does). Entries without a
// secretName or without a host a certificate can name are skipped.
func IngressCertificates(ing *networkingv1.Ingress, issuer edgecertv1alpha1.IssuerReference, o Options) ([]Certificate, error) {
	hosts := map[string]*hostSet{}
	var order []string
	for _, t := range ing.Spec.TLS {
		if t.SecretName == "" {
			continue
		}
		set, ok := hosts[t.SecretName]
		if !ok {
			set = &hostSet{}
			hosts[t.SecretName] = set
			order = append(order, t.SecretName)
		}
		set.add(t.Hosts...)
	}
	var out []Certificate
	for _, secret := range order {
		if len(hosts[secret].list) == 0 {
			continue
		}
		spec := edgecertv1alpha1.CertificateSpec{DNSNames: hosts[secret].list, SecretName: secret, IssuerRef: issuer}
		if err := specOptions(ing.Annotations, o, &spec); err != nil {
			return nil, err
		}
		out = append(out, Certificate{Namespace: ing.Namespace, Name: secret, Spec: spec})
	}
	return out, nil
}
