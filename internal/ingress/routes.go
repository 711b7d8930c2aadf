package ingress

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Route kinds whose hostnames a catch-all listener certifies.
const (
	KindHTTPRoute = "HTTPRoute"
	KindGRPCRoute = "GRPCRoute"
	KindTLSRoute  = "TLSRoute"
)

// ListenerHostnamesAnnotation set to ListenerHostnamesRoutes on a Gateway
// makes its wildcard listeners certify the hostnames of their attached
// routes instead of the wildcard itself: for issuers that have only
// HTTP-01, which cannot prove a wildcard.
const ListenerHostnamesAnnotation = "edgecert.dev/listener-hostnames"

// ListenerHostnamesRoutes is ListenerHostnamesAnnotation's one value.
const ListenerHostnamesRoutes = "routes"

// Route is what decides where an HTTPRoute, GRPCRoute or TLSRoute attaches
// and which names it serves there.
type Route struct {
	// Kind is KindHTTPRoute, KindGRPCRoute or KindTLSRoute.
	Kind            string
	Namespace, Name string
	ParentRefs      []gatewayv1.ParentReference
	Hostnames       []gatewayv1.Hostname
}

// String is "<kind> <namespace>/<name>".
func (r Route) String() string { return r.Kind + " " + r.Namespace + "/" + r.Name }

// HTTPRouteOf reads an HTTPRoute's attachment fields.
func HTTPRouteOf(r *gatewayv1.HTTPRoute) Route {
	return Route{Kind: KindHTTPRoute, Namespace: r.Namespace, Name: r.Name, ParentRefs: r.Spec.ParentRefs, Hostnames: r.Spec.Hostnames}
}

// GRPCRouteOf reads a GRPCRoute's attachment fields.
func GRPCRouteOf(r *gatewayv1.GRPCRoute) Route {
	return Route{Kind: KindGRPCRoute, Namespace: r.Namespace, Name: r.Name, ParentRefs: r.Spec.ParentRefs, Hostnames: r.Spec.Hostnames}
}

// TLSRouteOf reads a TLSRoute's attachment fields.
func TLSRouteOf(r *gatewayv1.TLSRoute) Route {
	return Route{Kind: KindTLSRoute, Namespace: r.Namespace, Name: r.Name, ParentRefs: r.Spec.ParentRefs, Hostnames: r.Spec.Hostnames}
}

// Parent is what a route's parentRefs name to attach to a listener: a
// Gateway, or a ListenerSet (or XListenerSet) with listeners of its own.
type Parent struct {
	// Group and Kind are as parentRefs name them: gateway.networking.k8s.io
	// Gateway or ListenerSet, gateway.networking.x-k8s.io XListenerSet.
	Group, Kind     string
	Namespace, Name string
}

// String is "<kind> <namespace>/<name>".
func (p Parent) String() string { return p.Kind + " " + p.Namespace + "/" + p.Name }

// GatewayParent is a Gateway API Gateway as routes name it.
func GatewayParent(gw *gatewayv1.Gateway) Parent {
	return Parent{Group: gatewayv1.GroupName, Kind: "Gateway", Namespace: gw.Namespace, Name: gw.Name}
}

// HasCatchAll reports whether one of listeners has no hostname or a
// wildcard one: only then can routes add to their parent's certificates.
func HasCatchAll(listeners []gatewayv1.Listener) bool {
	return slices.ContainsFunc(listeners, func(l gatewayv1.Listener) bool {
		return l.Hostname == nil || *l.Hostname == "" || strings.HasPrefix(string(*l.Hostname), "*.")
	})
}

// ParentGateways returns "namespace/name" of every Gateway the route's
// parentRefs name (group and kind defaulted as Gateway API defaults them),
// without duplicates: the Gateways a change of the route concerns.
func ParentGateways(r Route) []string {
	return ParentsOf(r, gatewayv1.GroupName, "Gateway")
}

// ParentsOf returns "namespace/name" of every parent of group and kind
// (ListenerSet, XListenerSet) the route's parentRefs name, without
// duplicates.
func ParentsOf(r Route, group, kind string) []string {
	var out []string
	for _, p := range r.ParentRefs {
		if !refersTo(p.Group, p.Kind, group, kind) {
			continue
		}
		ns := r.Namespace
		if p.Namespace != nil && *p.Namespace != "" {
			ns = string(*p.Namespace)
		}
		if key := ns + "/" + string(p.Name); !slices.Contains(out, key) {
			out = append(out, key)
		}
	}
	return out
}

// refersToGateway reports whether a reference's group and kind, defaulted
// to gateway.networking.k8s.io and Gateway, name a Gateway API Gateway. An
// explicit empty group is the core group.
func refersToGateway(group *gatewayv1.Group, kind *gatewayv1.Kind) bool {
	return refersTo(group, kind, gatewayv1.GroupName, "Gateway")
}

// refersTo reports whether a reference's group and kind, defaulted to
// gateway.networking.k8s.io and Gateway, are wantGroup and wantKind.
func refersTo(group *gatewayv1.Group, kind *gatewayv1.Kind, wantGroup, wantKind string) bool {
	g, k := gatewayv1.GroupName, "Gateway"
	if group != nil {
		g = string(*group)
	}
	if kind != nil {
		k = string(*kind)
	}
	return g == wantGroup && k == wantKind
}

// Attaches reports whether the route attaches to listener l of parent p
// (a Gateway, or a ListenerSet for its own listeners), as Gateway API
// decides it: a parentRef names p (and, when set, the listener by
// sectionName and its port), the listener's allowedRoutes admit the
// route's namespace (Same is p's namespace; routeNamespaceLabels are the
// route namespace's labels, for a selector) and kind, and, when both have
// hostnames, at least one of the route's intersects the listener's. A
// route whose parentRef names a Gateway does not attach to the listeners
// of the Gateway's ListenerSets.
func Attaches(p Parent, l gatewayv1.Listener, r Route, routeNamespaceLabels map[string]string) bool {
	if !slices.ContainsFunc(r.ParentRefs, func(ref gatewayv1.ParentReference) bool { return parentRefMatches(p, l, r.Namespace, ref) }) {
		return false
	}
	if !namespaceAllowed(l.AllowedRoutes, p.Namespace, r.Namespace, routeNamespaceLabels) || !kindAllowed(l, r.Kind) {
		return false
	}
	if l.Hostname == nil || *l.Hostname == "" || len(r.Hostnames) == 0 {
		return true
	}
	return slices.ContainsFunc(r.Hostnames, func(h gatewayv1.Hostname) bool {
		_, ok := IntersectHostname(string(*l.Hostname), string(h))
		return ok
	})
}

func parentRefMatches(parent Parent, l gatewayv1.Listener, routeNamespace string, p gatewayv1.ParentReference) bool {
	if !refersTo(p.Group, p.Kind, parent.Group, parent.Kind) || string(p.Name) != parent.Name {
		return false
	}
	ns := routeNamespace
	if p.Namespace != nil && *p.Namespace != "" {
		ns = string(*p.Namespace)
	}
	if ns != parent.Namespace {
		return false
	}
	if p.SectionName != nil && *p.SectionName != "" && *p.SectionName != l.Name {
		return false
	}
	return p.Port == nil || *p.Port == l.Port
}

// namespaceAllowed applies allowedRoutes.namespaces: Same (the default)
// admits the Gateway's namespace, All every one, Selector those whose
// labels match (an invalid or missing selector matches none).
func namespaceAllowed(ar *gatewayv1.AllowedRoutes, gwNamespace, routeNamespace string, routeNamespaceLabels map[string]string) bool {
	from := gatewayv1.NamespacesFromSame
	var sel *metav1.LabelSelector
	if ar != nil && ar.Namespaces != nil {
		if ar.Namespaces.From != nil && *ar.Namespaces.From != "" {
			from = *ar.Namespaces.From
		}
		sel = ar.Namespaces.Selector
	}
	return fromNamespaces(from, sel, gwNamespace, routeNamespace, routeNamespaceLabels)
}

// fromNamespaces is Gateway API's FromNamespaces rule, shared by
// allowedRoutes and allowedListeners.
func fromNamespaces(from gatewayv1.FromNamespaces, sel *metav1.LabelSelector, gwNamespace, namespace string, namespaceLabels map[string]string) bool {
	switch from {
	case gatewayv1.NamespacesFromAll:
		return true
	case gatewayv1.NamespacesFromSame:
		return namespace == gwNamespace
	case gatewayv1.NamespacesFromSelector:
		if sel == nil {
			return false
		}
		s, err := metav1.LabelSelectorAsSelector(sel)
		return err == nil && s.Matches(labels.Set(namespaceLabels))
	}
	return false
}

// supportedKinds are the route kinds a TLS-terminating listener serves:
// HTTPS takes HTTPRoutes and GRPCRoutes (as Istio does), TLS takes
// TLSRoutes.
func supportedKinds(protocol gatewayv1.ProtocolType) []string {
	switch protocol {
	case gatewayv1.HTTPSProtocolType, gatewayv1.HTTPProtocolType:
		return []string{KindHTTPRoute, KindGRPCRoute}
	case gatewayv1.TLSProtocolType:
		return []string{KindTLSRoute}
	}
	return nil
}

// kindAllowed applies allowedRoutes.kinds: the kinds listed (group
// defaulted to gateway.networking.k8s.io) that the protocol supports, or
// every supported kind when none is listed.
func kindAllowed(l gatewayv1.Listener, kind string) bool {
	supported := supportedKinds(l.Protocol)
	if !slices.Contains(supported, kind) {
		return false
	}
	if l.AllowedRoutes == nil || len(l.AllowedRoutes.Kinds) == 0 {
		return true
	}
	return slices.ContainsFunc(l.AllowedRoutes.Kinds, func(k gatewayv1.RouteGroupKind) bool {
		return (k.Group == nil || *k.Group == gatewayv1.GroupName) && string(k.Kind) == kind
	})
}

// IntersectHostname returns the names that both a listener hostname and a
// route hostname match, as the more specific of the two, following Gateway
// API: "*.example.com" matches every name under example.com (any depth)
// but not example.com itself; two wildcards intersect as the longer one.
// An empty listener hostname matches every route hostname. Comparison
// ignores case.
func IntersectHostname(listener, route string) (string, bool) {
	listener, route = strings.ToLower(listener), strings.ToLower(route)
	switch {
	case listener == "":
		return route, route != ""
	case listener == route:
		return route, true
	case wildcardCovers(listener, route):
		return route, true
	case wildcardCovers(route, listener):
		return listener, true
	}
	return "", false
}

// wildcardCovers reports whether pattern is "*.<suffix>" and name (a name
// or a narrower wildcard) lies strictly under suffix.
func wildcardCovers(pattern, name string) bool {
	suffix, ok := strings.CutPrefix(pattern, "*")
	if !ok || !strings.HasPrefix(suffix, ".") {
		return false
	}
	rest, ok := strings.CutSuffix(name, suffix)
	return ok && rest != ""
}

// UnclaimedRoute is a route left out of the certificates of a Gateway or
// ListenerSet (its Parent): it asks for hosts its namespace has not
// claimed.
type UnclaimedRoute struct {
	Route  Route
	Parent Parent
	Hosts  []string
}

// String names the hosts and the rule. It is stable, for an event on the
// route.
func (u UnclaimedRoute) String() string {
	return fmt.Sprintf("namespace %s has no claim on %s: a GatewayPolicy's spec.claims must give it the host (docs/security.md); "+
		"%s is left out of the certificates of %s, the other routes are still served",
		u.Route.Namespace, strings.Join(u.Hosts, ", "), u.Route, u.Parent)
}

// MaxDNSNames is how many names one certificate may hold: Let's Encrypt's
// limit, and Pebble's.
const MaxDNSNames = 100

// TruncatedCertificate is a Certificate that would name more than
// MaxDNSNames hosts: it holds the first MaxDNSNames in sorted order.
type TruncatedCertificate struct {
	Namespace, Name string
	// Left is how many hosts were left out.
	Left int
	// Listeners are the names of the listeners that name its Secret.
	Listeners []string
}

// String says how many were left out and what to do. It is stable, for an
// event on the Gateway.
func (t TruncatedCertificate) String() string {
	return fmt.Sprintf("Certificate %s/%s (listeners %s) would name %d hosts, more than the %d a certificate may hold: "+
		"it names the first %d in sorted order and leaves %d out; split the routes across listeners with their own certificateRefs",
		t.Namespace, t.Name, strings.Join(t.Listeners, ", "), MaxDNSNames+t.Left, MaxDNSNames, MaxDNSNames, t.Left)
}
