package ingress

import (
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
)

// ListenerSetParent returns the namespace and name of the Gateway the
// ListenerSet attaches to (namespace defaulted to the ListenerSet's); ok
// is false when its parentRef names another kind.
func ListenerSetParent(ls *gatewayv1.ListenerSet) (namespace, name string, ok bool) {
	p := ls.Spec.ParentRef
	if !refersToGateway(p.Group, p.Kind) || p.Name == "" {
		return "", "", false
	}
	namespace = ls.Namespace
	if p.Namespace != nil && *p.Namespace != "" {
		namespace = string(*p.Namespace)
	}
	return namespace, string(p.Name), true
}

// ListenerSetAllowed reports whether the Gateway's spec.allowedListeners
// admits ListenerSets of namespace ns: None (the default) admits none,
// Same the Gateway's namespace, All every one, Selector those whose labels
// match.
func ListenerSetAllowed(gw *gatewayv1.Gateway, ns gateway.Namespace) bool {
	from := gatewayv1.NamespacesFromNone
	al := gw.Spec.AllowedListeners
	if al == nil || al.Namespaces == nil {
		return false
	}
	if al.Namespaces.From != nil && *al.Namespaces.From != "" {
		from = *al.Namespaces.From
	}
	return fromNamespaces(from, al.Namespaces.Selector, gw.Namespace, ns.Name, ns.Labels)
}

// ListenerSetNotAllowedMessage is the stable message of a ListenerSet
// whose parent Gateway does not admit it.
func ListenerSetNotAllowedMessage(gwNamespace, gwName, lsNamespace string) string {
	return fmt.Sprintf("Gateway %s/%s does not admit ListenerSets of namespace %s (spec.allowedListeners.namespaces, None by default); no Certificate for its listeners",
		gwNamespace, gwName, lsNamespace)
}

// ListenerSetIssuer returns the issuer for a ListenerSet's Certificates:
// the one its own annotations name, else the parent Gateway's when that is
// a ClusterIssuer (a Gateway's namespaced Issuer lives in the Gateway's
// namespace, not the ListenerSet's). ok is false when there is none; an
// error is about the ListenerSet's own annotations (the Gateway's shim
// reports the Gateway's). gw may be nil.
func ListenerSetIssuer(ls *gatewayv1.ListenerSet, gw *gatewayv1.Gateway) (edgecertv1alpha1.IssuerReference, bool, error) {
	ref, ok, err := IssuerFor(ls.Annotations, Options{})
	if err != nil || ok || gw == nil {
		return ref, ok, err
	}
	// The Gateway's own annotation errors are the Gateway shim's to report.
	if inherited, ok, gwErr := IssuerFor(gw.Annotations, Options{}); gwErr == nil && ok && inherited.Kind == edgecertv1alpha1.ClusterIssuerKind {
		return inherited, true, nil
	}
	return edgecertv1alpha1.IssuerReference{}, false, nil
}

// ListenerSetRef is a ListenerSet (kind KindListenerSet) or XListenerSet
// (KindXListenerSet) as routes' parentRefs and ReferenceGrants name it.
func ListenerSetRef(kind, namespace, name string) Parent {
	group := gatewayv1.GroupName
	if kind == KindXListenerSet {
		group = XGroupName
	}
	return Parent{Group: group, Kind: kind, Namespace: namespace, Name: name}
}

// ListenerSetCertificates returns one Certificate per Secret the
// ListenerSet's TLS-terminating listeners name in certificateRefs
// (namespace defaulted to the ListenerSet's), as GatewayAPICertificates
// does for a Gateway's listeners: a listener with a hostname certifies
// it; one without (or with a wildcard one, when the ListenerSet's own
// ListenerHostnamesAnnotation says ListenerHostnamesRoutes) certifies the
// claimed hostnames of the routes attached to it, routes whose parentRefs
// name the ListenerSet (kind: KindListenerSet or KindXListenerSet, which
// the spec of an XListenerSet was read from). A ref to another namespace
// needs a ReferenceGrant there from that kind in this namespace. The
// optional Certificate fields come from the ListenerSet's own annotations.
func ListenerSetCertificates(ls *gatewayv1.ListenerSet, kind string, issuer edgecertv1alpha1.IssuerReference, grants []gatewayv1beta1.ReferenceGrant, routes GatewayAPIRoutes) (GatewayAPIResult, error) {
	return routeListenerCertificates(ListenerSetRef(kind, ls.Namespace, ls.Name), listenerSetListeners(ls), ls.Annotations, issuer, grants, routes)
}

// ListenerSetCatchAll is HasCatchAll for the ListenerSet's listeners.
func ListenerSetCatchAll(ls *gatewayv1.ListenerSet) bool {
	return HasCatchAll(listenerSetListeners(ls))
}

// ListenerSetListeners reads a ListenerSet's entries as Gateway listeners
// (they have the same fields).
func ListenerSetListeners(ls *gatewayv1.ListenerSet) []gatewayv1.Listener {
	return listenerSetListeners(ls)
}

// ListenerSetRefNamespaces returns the namespaces, other than the
// ListenerSet's, of the Secrets its listeners name: where the
// ReferenceGrants ListenerSetCertificates needs live.
func ListenerSetRefNamespaces(ls *gatewayv1.ListenerSet) []string {
	return refNamespaces(ls.Namespace, listenerSetListeners(ls))
}

// listenerSetListeners reads a ListenerSet's entries as Gateway
// listeners (they have the same fields).
func listenerSetListeners(ls *gatewayv1.ListenerSet) []gatewayv1.Listener {
	out := make([]gatewayv1.Listener, 0, len(ls.Spec.Listeners))
	for _, e := range ls.Spec.Listeners {
		out = append(out, gatewayv1.Listener(e))
	}
	return out
}
