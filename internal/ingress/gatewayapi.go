package ingress

import (
	"fmt"
	"slices"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
)

// RefusedRef is a certificateRef to a Secret in another namespace that no
// ReferenceGrant there permits: the Gateway (or ListenerSet) may not use
// that Secret, so no Certificate is made for it.
type RefusedRef struct {
	// FromKind is the kind that names it: "" for a Gateway,
	// "ListenerSet" or "XListenerSet".
	FromKind string
	// FromGroup is that kind's group: "" for gateway.networking.k8s.io.
	FromGroup string
	// GatewayNamespace is the namespace of the Gateway or ListenerSet that
	// names it.
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
	kind := r.FromKind
	if kind == "" {
		kind = "Gateway"
	}
	group := r.FromGroup
	if group == "" {
		group = gatewayv1.GroupName
	}
	return fmt.Sprintf("certificateRef Secret %s/%s (%s %s): no ReferenceGrant in namespace %s allows it "+
		"(from group %s kind %s namespace %s, to group \"\" kind Secret name %s or empty); no Certificate for it",
		r.Namespace, r.Name, listeners, strings.Join(r.Listeners, ", "), r.Namespace, group, kind, r.GatewayNamespace, r.Name)
}

// GatewayAPIResult is what an annotated Gateway API Gateway, or a
// ListenerSet, wants.
type GatewayAPIResult struct {
	// Certificates, one per certificateRef Secret, in the Secret's
	// namespace.
	Certificates []Certificate
	// Refused are the cross-namespace certificateRefs that no
	// ReferenceGrant permits.
	Refused []RefusedRef
	// Unclaimed are the attached routes left out because they ask for
	// hosts their namespace has not claimed, each once.
	Unclaimed []UnclaimedRoute
	// Truncated are the Certificates that hold only the first MaxDNSNames
	// of their hosts.
	Truncated []TruncatedCertificate
}

// GatewayAPIRoutes is what the catch-all listeners of a Gateway or a
// ListenerSet certify: the routes that may attach to them, and what
// decides whose hosts count.
type GatewayAPIRoutes struct {
	// Routes are the HTTPRoutes, GRPCRoutes and TLSRoutes whose parentRefs
	// name the Gateway or ListenerSet (others are ignored anyway).
	Routes []Route
	// Namespaces are the routes' namespaces, with their labels: for
	// allowedRoutes selectors and for claims.
	Namespaces map[string]gateway.Namespace
	// Policies are the GatewayPolicies whose claims a route's hosts need
	// when ClaimsEnforced (gateway.ClaimsEnforced).
	Policies       []edgecertv1alpha1.GatewayPolicy
	ClaimsEnforced bool
}

// GatewayAPICertificates returns one Certificate per Secret the Gateway's
// TLS-terminating listeners (HTTPS, TLS in mode Terminate) name in
// certificateRefs, in the Secret's namespace, covering the hosts of every
// listener that names it, sorted, at most MaxDNSNames (the rest are
// reported in Truncated). A listener's hosts are:
//
//   - its hostname, when it has one that is not a wildcard;
//   - a wildcard hostname, unless the Gateway's ListenerHostnamesAnnotation
//     says "routes": then, as for a listener without hostname,
//   - the hostnames of the routes attached to it (Attaches), intersected
//     with the listener's (IntersectHostname). A route whose namespace has
//     not claimed all of its hosts there (when claims are enforced) adds
//     none and is reported in Unclaimed; a route without hostnames adds
//     none.
//
// Refs to kinds other than core Secrets are left alone. A ref to another
// namespace counts only when one of grants (the ReferenceGrants of that
// namespace) permits it; else it is Refused. Only edgecert's own
// annotations apply to Gateways.
func GatewayAPICertificates(gw *gatewayv1.Gateway, issuer edgecertv1alpha1.IssuerReference, grants []gatewayv1beta1.ReferenceGrant, routes GatewayAPIRoutes) (GatewayAPIResult, error) {
	return routeListenerCertificates(GatewayParent(gw), gw.Spec.Listeners, gw.Annotations, issuer, grants, routes)
}

// routeListenerCertificates is GatewayAPICertificates for the listeners of
// parent, a Gateway or a ListenerSet (its own listeners), with the
// parent's annotations: a listener with a full hostname certifies it, one
// without hostname (or with a wildcard one, when the annotations say
// ListenerHostnamesRoutes) the claimed hostnames of the routes attached
// to it.
func routeListenerCertificates(parent Parent, listeners []gatewayv1.Listener, annotations map[string]string,
	issuer edgecertv1alpha1.IssuerReference, grants []gatewayv1beta1.ReferenceGrant, routes GatewayAPIRoutes) (GatewayAPIResult, error) {
	byRoutes := false
	if v, ok := annotations[ListenerHostnamesAnnotation]; ok {
		if v != ListenerHostnamesRoutes {
			return GatewayAPIResult{}, fmt.Errorf("%s %q: want %s (or remove it)", ListenerHostnamesAnnotation, v, ListenerHostnamesRoutes)
		}
		byRoutes = true
	}
	var unclaimedRoutes []UnclaimedRoute
	unclaimed := map[string]int{}
	hostsOf := func(l gatewayv1.Listener) []string {
		listenerHost := ""
		if l.Hostname != nil {
			listenerHost = string(*l.Hostname)
		}
		if listenerHost != "" && (!strings.HasPrefix(listenerHost, "*.") || !byRoutes) {
			return []string{listenerHost}
		}
		hosts, out := ListenerRouteHosts(parent, l, routes)
		for _, u := range out {
			key := u.Route.String()
			i, seen := unclaimed[key]
			if !seen {
				i = len(unclaimedRoutes)
				unclaimed[key] = i
				unclaimedRoutes = append(unclaimedRoutes, UnclaimedRoute{Route: u.Route, Parent: u.Parent})
			}
			for _, h := range u.Hosts {
				if !slices.Contains(unclaimedRoutes[i].Hosts, h) {
					unclaimedRoutes[i].Hosts = append(unclaimedRoutes[i].Hosts, h)
				}
			}
		}
		return hosts
	}
	got, err := listenerCertificates(parent, listeners, hostsOf, grants, issuer, annotations)
	if err != nil {
		return GatewayAPIResult{}, err
	}
	got.Unclaimed = unclaimedRoutes
	return got, nil
}

// listenerCertificates makes one Certificate per core Secret that the
// TLS-terminating listeners of parent (a Gateway or ListenerSet) name, for
// the hosts hostsOf gives each listener: sorted, without duplicates, at
// most MaxDNSNames. A listener without hosts names no Secret.
func listenerCertificates(parent Parent, listeners []gatewayv1.Listener, hostsOf func(gatewayv1.Listener) []string,
	grants []gatewayv1beta1.ReferenceGrant, issuer edgecertv1alpha1.IssuerReference, annotations map[string]string) (GatewayAPIResult, error) {
	namespace := parent.Namespace
	fromKind, fromGroup := parent.Kind, parent.Group
	if fromKind == "Gateway" {
		fromKind = ""
	}
	if fromGroup == gatewayv1.GroupName {
		fromGroup = ""
	}
	var res GatewayAPIResult
	var secrets secretHosts
	refused := map[secretKey]int{}
	names := map[secretKey][]string{}
	for _, l := range listeners {
		refs := secretRefs(namespace, l)
		if len(refs) == 0 {
			continue
		}
		hosts := hostsOf(l)
		if len(hosts) == 0 {
			continue
		}
		for _, key := range refs {
			if key.namespace != namespace && !secretGranted(grants, parent, key) {
				i, ok := refused[key]
				if !ok {
					i = len(res.Refused)
					refused[key] = i
					res.Refused = append(res.Refused, RefusedRef{FromKind: fromKind, FromGroup: fromGroup, GatewayNamespace: namespace, Namespace: key.namespace, Name: key.name})
				}
				if r := &res.Refused[i]; !slices.Contains(r.Listeners, string(l.Name)) {
					r.Listeners = append(r.Listeners, string(l.Name))
				}
				continue
			}
			secrets.add(key, hosts...)
			if !slices.Contains(names[key], string(l.Name)) {
				names[key] = append(names[key], string(l.Name))
			}
		}
	}
	certs, err := secrets.certificates(issuer, annotations, Options{})
	if err != nil {
		return GatewayAPIResult{}, err
	}
	for i := range certs {
		c := &certs[i]
		slices.Sort(c.Spec.DNSNames)
		if n := len(c.Spec.DNSNames); n > MaxDNSNames {
			c.Spec.DNSNames = c.Spec.DNSNames[:MaxDNSNames:MaxDNSNames]
			res.Truncated = append(res.Truncated, TruncatedCertificate{Namespace: c.Namespace, Name: c.Name, Left: n - MaxDNSNames,
				Listeners: names[secretKey{namespace: c.Namespace, name: c.Name}]})
		}
	}
	res.Certificates = certs
	return res, nil
}

// GatewayAPIRefNamespaces returns the namespaces, other than the
// Gateway's, of the Secrets its TLS-terminating listeners name: where the
// ReferenceGrants GatewayAPICertificates needs live.
func GatewayAPIRefNamespaces(gw *gatewayv1.Gateway) []string {
	return refNamespaces(gw.Namespace, gw.Spec.Listeners)
}

func refNamespaces(namespace string, listeners []gatewayv1.Listener) []string {
	var out []string
	for _, l := range listeners {
		for _, key := range secretRefs(namespace, l) {
			if key.namespace != namespace && !slices.Contains(out, key.namespace) {
				out = append(out, key.namespace)
			}
		}
	}
	return out
}

// secretRefs lists the core Secrets a TLS-terminating listener names,
// each ref's namespace defaulted to namespace (the Gateway's or
// ListenerSet's); none for other listeners.
func secretRefs(namespace string, l gatewayv1.Listener) []secretKey {
	if !terminatesTLS(l) {
		return nil
	}
	var out []secretKey
	for _, ref := range l.TLS.CertificateRefs {
		if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Secret") || ref.Name == "" {
			continue
		}
		ns := namespace
		if ref.Namespace != nil && *ref.Namespace != "" {
			ns = string(*ref.Namespace)
		}
		out = append(out, secretKey{namespace: ns, name: string(ref.Name)})
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
// lets the parent's kind (Gateways, ListenerSets, XListenerSets) of its
// namespace refer to it: a from entry for that group, kind and namespace
// and a to entry for core Secrets, of that name or of any.
func secretGranted(grants []gatewayv1beta1.ReferenceGrant, parent Parent, secret secretKey) bool {
	for _, g := range grants {
		if g.Namespace != secret.namespace {
			continue
		}
		from := slices.ContainsFunc(g.Spec.From, func(f gatewayv1beta1.ReferenceGrantFrom) bool {
			return string(f.Group) == parent.Group && string(f.Kind) == parent.Kind && string(f.Namespace) == parent.Namespace
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

// ListenerRouteHosts returns the hostnames the routes attached to listener
// l of parent p, a Gateway or ListenerSet (Attaches), serve there, each route's intersected with the
// listener's hostname (IntersectHostname), in route order: what a
// catch-all or wildcard listener serves. A route whose namespace has not
// claimed all of its hosts there (when claims are enforced) adds none and
// is returned in unclaimed, each route once; a route without hostnames
// adds none. "*", IP addresses and invalid names are left out.
func ListenerRouteHosts(p Parent, l gatewayv1.Listener, routes GatewayAPIRoutes) (hosts []string, unclaimed []UnclaimedRoute) {
	listenerHost := ""
	if l.Hostname != nil {
		listenerHost = string(*l.Hostname)
	}
	for _, r := range routes.Routes {
		ns, ok := routes.Namespaces[r.Namespace]
		if !ok {
			ns = gateway.Namespace{Name: r.Namespace}
		}
		if !Attaches(p, l, r, ns.Labels) {
			continue
		}
		var mine []string
		for _, h := range r.Hostnames {
			if x, ok := IntersectHostname(listenerHost, string(h)); ok {
				if x, ok := certHost(x); ok && !slices.Contains(mine, x) {
					mine = append(mine, x)
				}
			}
		}
		if routes.ClaimsEnforced {
			if out := gateway.Unclaimed(routes.Policies, ns, mine); len(out) > 0 {
				unclaimed = append(unclaimed, UnclaimedRoute{Route: r, Parent: p, Hosts: out})
				continue
			}
		}
		hosts = append(hosts, mine...)
	}
	return hosts, unclaimed
}
