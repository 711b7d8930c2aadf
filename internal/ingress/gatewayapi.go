package ingress

import (
	"fmt"
	"slices"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// RefusedRef is a certificateRef to a Secret in another namespace that no
// ReferenceGrant there permits: the Gateway may not use that Secret, so no
// Certificate is made for it.
type RefusedRef struct {
	// GatewayNamespace is the namespace of the Gateway that names it.
	GatewayNamespace string
	// Namespace and Name are the Secret's.
	Namespace, Name string
	// Listeners are the names of the listeners that name it.
	Listeners []string
}

// String says which ref is refused and which ReferenceGrant would permit
// it. It is stable, for an event.
func (r RefusedRef) String() string {
	listeners := "listener"
	if len(r.Listeners) > 1 {
		listeners = "listeners"
	}
	return fmt.Sprintf("certificateRef Secret %s/%s (%s %s): no ReferenceGrant in namespace %s allows it "+
		"(from group %s kind Gateway namespace %s, to group \"\" kind Secret name %s or empty); no Certificate for it",
		r.Namespace, r.Name, listeners, strings.Join(r.Listeners, ", "), r.Namespace, gatewayv1.GroupName, r.GatewayNamespace, r.Name)
}

// GatewayAPIResult is what an annotated Gateway API Gateway wants.
type GatewayAPIResult struct {
	// Certificates, one per certificateRef Secret, in the Secret's
	// namespace.
	Certificates []Certificate
	// Refused are the cross-namespace certificateRefs that no
	// ReferenceGrant permits.
	Refused []RefusedRef
}

// GatewayAPICertificates returns one Certificate per Secret the Gateway's
// TLS-terminating listeners (HTTPS, TLS in mode Terminate) name in
// certificateRefs, in the Secret's namespace, covering the hostnames of
// every listener that names it. Listeners without a hostname are skipped,
// as cert-manager's gateway-shim does: they match any name, and there is
// none to certify. Refs to kinds other than core Secrets are left alone. A
// ref to another namespace counts only when one of grants (the
// ReferenceGrants of that namespace) permits it; else it is Refused. Only
// edgecert's own annotations apply to Gateways.
func GatewayAPICertificates(gw *gatewayv1.Gateway, issuer edgecertv1alpha1.IssuerReference, grants []gatewayv1beta1.ReferenceGrant) (GatewayAPIResult, error) {
	var res GatewayAPIResult
	var secrets secretHosts
	refused := map[secretKey]int{}
	for _, s := range listenerSecrets(gw) {
		if s.key.namespace != gw.Namespace && !secretGranted(grants, gw.Namespace, s.key) {
			i, ok := refused[s.key]
			if !ok {
				i = len(res.Refused)
				refused[s.key] = i
				res.Refused = append(res.Refused, RefusedRef{GatewayNamespace: gw.Namespace, Namespace: s.key.namespace, Name: s.key.name})
			}
			if r := &res.Refused[i]; !slices.Contains(r.Listeners, s.listener) {
				r.Listeners = append(r.Listeners, s.listener)
			}
			continue
		}
		secrets.add(s.key, s.hostname)
	}
	certs, err := secrets.certificates(issuer, gw.Annotations, Options{})
	if err != nil {
		return GatewayAPIResult{}, err
	}
	res.Certificates = certs
	return res, nil
}

// GatewayAPIRefNamespaces returns the namespaces, other than the
// Gateway's, of the Secrets its listeners name: where the ReferenceGrants
// GatewayAPICertificates needs live.
func GatewayAPIRefNamespaces(gw *gatewayv1.Gateway) []string {
	var out []string
	for _, s := range listenerSecrets(gw) {
		if s.key.namespace != gw.Namespace && !slices.Contains(out, s.key.namespace) {
			out = append(out, s.key.namespace)
		}
	}
	return out
}

// listenerSecret is one certificateRef of a listener that wants a
// certificate.
type listenerSecret struct {
	listener, hostname string
	key                secretKey
}

// listenerSecrets lists, in order, the core Secrets that the Gateway's
// TLS-terminating listeners with a hostname name, each ref's namespace
// defaulted to the Gateway's.
func listenerSecrets(gw *gatewayv1.Gateway) []listenerSecret {
	var out []listenerSecret
	for _, l := range gw.Spec.Listeners {
		if !terminatesTLS(l) || l.Hostname == nil || *l.Hostname == "" {
			continue
		}
		for _, ref := range l.TLS.CertificateRefs {
			if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Secret") || ref.Name == "" {
				continue
			}
			ns := gw.Namespace
			if ref.Namespace != nil && *ref.Namespace != "" {
				ns = string(*ref.Namespace)
			}
			out = append(out, listenerSecret{listener: string(l.Name), hostname: string(*l.Hostname), key: secretKey{namespace: ns, name: string(ref.Name)}})
		}
	}
	return out
}

// terminatesTLS reports whether the listener serves a certificate of its
// own: HTTPS, or TLS in mode Terminate (the default). Passthrough hands
// the handshake to the backend.
func terminatesTLS(l gatewayv1.Listener) bool {
	if l.TLS == nil || (l.Protocol != gatewayv1.HTTPSProtocolType && l.Protocol != gatewayv1.TLSProtocolType) {
		return false
	}
	return l.TLS.Mode == nil || *l.TLS.Mode == "" || *l.TLS.Mode == gatewayv1.TLSModeTerminate
}

// secretGranted reports whether a ReferenceGrant in the Secret's namespace
// lets Gateways of gwNamespace refer to it: a from entry for Gateways of
// that namespace and a to entry for core Secrets, of that name or of any.
func secretGranted(grants []gatewayv1beta1.ReferenceGrant, gwNamespace string, secret secretKey) bool {
	for _, g := range grants {
		if g.Namespace != secret.namespace {
			continue
		}
		from := slices.ContainsFunc(g.Spec.From, func(f gatewayv1beta1.ReferenceGrantFrom) bool {
			return f.Group == gatewayv1.GroupName && f.Kind == "Gateway" && string(f.Namespace) == gwNamespace
		})
		to := slices.ContainsFunc(g.Spec.To, func(t gatewayv1beta1.ReferenceGrantTo) bool {
			return t.Group == "" && t.Kind == "Secret" && (t.Name == nil || *t.Name == "" || string(*t.Name) == secret.name)
		})
		if from && to {
			return true
		}
	}
	return false
}
