package dnszone

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/controller/shim"
	"github.com/edgecert/edgecert/internal/dns/publish"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/kube"
)

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;grpcroutes;tlsroutes;listenersets,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.x-k8s.io,resources=xlistenersets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=edgecert.dev,resources=gatewaypolicies,verbs=get;list;watch

// Kinds of the Gateway API sources in ownership records' resource label.
// Routes are named as external-dns's gateway-httproute, -grpcroute and
// -tlsroute sources name them; a Gateway API Gateway gets a kind of its
// own, apart from the Istio Gateway's "gateway".
const (
	GatewayAPIGatewayKind = "gatewayapi-gateway"
	ListenerSetKind       = "listenerset"
	XListenerSetKind      = "xlistenerset"
	HTTPRouteKind         = "httproute"
	GRPCRouteKind         = "grpcroute"
	TLSRouteKind          = "tlsroute"
)

// GatewayAPI says which Gateway API kinds the API server serves: only
// those are read and watched.
type GatewayAPI struct {
	// Gateways: gateway.networking.k8s.io/v1 Gateways are served.
	Gateways bool
	// RouteKinds are the served route kinds among ingress.KindHTTPRoute,
	// KindGRPCRoute and KindTLSRoute.
	RouteKinds []string
	// ListenerSets: gateway.networking.k8s.io/v1 ListenerSets are served.
	ListenerSets bool
	// XListenerSets: gateway.networking.x-k8s.io/v1alpha1 XListenerSets
	// (ListenerSet's experimental name) are served.
	XListenerSets bool
	// RequireHostClaims enforces claims on route hostnames even while no
	// GatewayPolicy has claims (--require-host-claims).
	RequireHostClaims bool
}

// gatewayAPITargetKey keys a Gateway API Gateway's target, apart from an
// Istio Gateway of the same namespace and name.
func gatewayAPITargetKey(namespace, name string) string {
	return "gateway.networking.k8s.io/" + namespace + "/" + name
}

// gatewayAPISources reads annotated Gateway API Gateways, the routes
// attached to their listeners without hostname or with a wildcard one,
// the ListenerSets (and XListenerSets) they admit and the routes attached
// to those's catch-all listeners, as sources; each points at its
// Gateway's status.addresses. A route hostname in the zone that the
// route's namespace has not claimed is skipped, and told once with an
// event on the route (RouteHostNotClaimed) while it stays so.
func (r *Reconciler) gatewayAPISources(ctx context.Context, s *scope, targets map[string]publish.Target) ([]publish.Source, []publish.Skipped, error) {
	if !r.GatewayAPI.Gateways {
		return nil, nil, nil
	}
	var gws gatewayv1.GatewayList
	if err := r.Cache.List(ctx, &gws); err != nil {
		return nil, nil, fmt.Errorf("list Gateway API Gateways: %w", err)
	}
	annotated := map[string]*gatewayv1.Gateway{}
	for i := range gws.Items {
		gw := &gws.Items[i]
		if gw.Annotations[edgecertv1alpha1.PublishDNSAnnotation] == "true" {
			annotated[gw.Namespace+"/"+gw.Name] = gw
		}
	}
	if len(annotated) == 0 {
		r.refusedRoutes.Tell(s.zone.Name, nil, nil)
		return nil, nil, nil
	}
	routes, objs, err := r.gatewayAPIRoutes(ctx)
	if err != nil {
		return nil, nil, err
	}
	zone := publish.Zone{Name: s.zone.Spec.Zone}
	if d := s.zone.Spec.Domains; d != nil {
		zone.Include, zone.Exclude = d.Include, d.Exclude
	}
	var sources []publish.Source
	var skipped []publish.Skipped
	add := func(src publish.Source, obj client.Object, annotations map[string]string) {
		if len(src.Hosts) == 0 {
			return
		}
		if i := slices.IndexFunc(sources, func(x publish.Source) bool { return x.Resource == src.Resource && x.Gateway == src.Gateway }); i >= 0 {
			sources[i].Hosts = append(sources[i].Hosts, src.Hosts...)
			return
		}
		s.objects[src.Resource] = obj
		ttl, problem := ttlOf(annotations)
		if problem != "" {
			skipped = append(skipped, publish.Skipped{Resource: src.Resource, Reason: problem})
			return
		}
		src.TTL = ttl
		sources = append(sources, src)
	}
	// refused are the unclaimed route hosts of this zone, by "route
	// <uid> <host>", with their routes: told once with an event.
	refused := map[string]string{}
	refusedObjs := map[string]client.Object{}
	addRoutes := func(p ingress.Parent, l gatewayv1.Listener, target string) {
		for _, rt := range routes.Routes {
			one := routes
			one.Routes = []ingress.Route{rt}
			hosts, unclaimed := ingress.ListenerRouteHosts(p, l, one)
			obj := objs[rt.String()]
			for _, u := range unclaimed {
				for _, h := range u.Hosts {
					sk := publish.Skipped{Host: h, Resource: routeResource(rt), Reason: fmt.Sprintf(
						"namespace %s has no claim on %s: a GatewayPolicy's spec.claims must give it the host (docs/security.md); %s gets no record", rt.Namespace, h, rt)}
					// Hosts of other zones are theirs to report.
					if zone.Manages(h) && !slices.Contains(skipped, sk) {
						skipped = append(skipped, sk)
						key := "route " + string(obj.GetUID()) + " " + h
						refused[key], refusedObjs[key] = sk.Reason+" in DNSZone "+s.zone.Name, obj
					}
				}
			}
			add(publish.Source{Resource: routeResource(rt), Gateway: target, Hosts: hosts}, obj, obj.GetAnnotations())
		}
	}
	for _, key := range sortedKeys(annotated) {
		gw := annotated[key]
		target := gatewayAPITargetKey(gw.Namespace, gw.Name)
		targets[target] = addressTarget(gw)
		own := publish.Source{Resource: GatewayAPIGatewayKind + "/" + key, Gateway: target}
		for _, l := range gw.Spec.Listeners {
			host := listenerHost(l)
			if host != "" && host != "*" {
				own.Hosts = append(own.Hosts, host)
			}
			if host != "" && !strings.HasPrefix(host, "*") {
				continue
			}
			addRoutes(ingress.GatewayParent(gw), l, target)
		}
		add(own, gw, gw.Annotations)
	}
	sets, err := r.listenerSets(ctx, annotated)
	if err != nil {
		return nil, nil, err
	}
	for _, set := range sets {
		ls := set.ls
		gwNS, gwName, _ := ingress.ListenerSetParent(ls)
		target := gatewayAPITargetKey(gwNS, gwName)
		resource := ListenerSetKind + "/" + ls.Namespace + "/" + ls.Name
		if set.kind == ingress.KindXListenerSet {
			resource = XListenerSetKind + "/" + ls.Namespace + "/" + ls.Name
		}
		own := publish.Source{Resource: resource, Gateway: target}
		for _, l := range ingress.ListenerSetListeners(ls) {
			host := listenerHost(l)
			if host != "" && host != "*" {
				own.Hosts = append(own.Hosts, host)
			}
			if host != "" && !strings.HasPrefix(host, "*") {
				continue
			}
			addRoutes(ingress.ListenerSetRef(set.kind, ls.Namespace, ls.Name), l, target)
		}
		add(own, set.obj, ls.Annotations)
	}
	r.refusedRoutes.Tell(s.zone.Name, refused, func(key, message string) {
		r.Events.Eventf(refusedObjs[key], s.zone, corev1.EventTypeWarning, edgecertv1alpha1.ReasonRouteHostNotClaimed, "Publish", "%s", message)
	})
	return sources, skipped, nil
}

// listenerSet is a ListenerSet or XListenerSet (kind) read as a
// ListenerSet, with its object.
type listenerSet struct {
	kind string
	ls   *gatewayv1.ListenerSet
	obj  client.Object
}

// listenerSets reads the served ListenerSets and XListenerSets whose
// parent Gateway is annotated and admits them (ingress.ListenerSetAllowed).
func (r *Reconciler) listenerSets(ctx context.Context, annotated map[string]*gatewayv1.Gateway) ([]listenerSet, error) {
	var all []listenerSet
	if r.GatewayAPI.ListenerSets {
		var list gatewayv1.ListenerSetList
		if err := r.Cache.List(ctx, &list); err != nil {
			return nil, fmt.Errorf("list ListenerSets: %w", err)
		}
		for i := range list.Items {
			all = append(all, listenerSet{kind: ingress.KindListenerSet, ls: &list.Items[i], obj: &list.Items[i]})
		}
	}
	if r.GatewayAPI.XListenerSets {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(shim.XListenerSetGVK.GroupVersion().WithKind(shim.XListenerSetGVK.Kind + "List"))
		if err := r.Cache.List(ctx, list); err != nil {
			return nil, fmt.Errorf("list XListenerSets: %w", err)
		}
		for i := range list.Items {
			ls, err := shim.ListenerSetOf(&list.Items[i])
			if err != nil {
				return nil, err
			}
			all = append(all, listenerSet{kind: ingress.KindXListenerSet, ls: ls, obj: &list.Items[i]})
		}
	}
	var out []listenerSet
	namespaces := map[string]gateway.Namespace{}
	for _, set := range all {
		gwNS, gwName, ok := ingress.ListenerSetParent(set.ls)
		if !ok {
			continue
		}
		gw := annotated[gwNS+"/"+gwName]
		if gw == nil {
			continue
		}
		ns, ok := namespaces[set.ls.Namespace]
		if !ok {
			var err error
			if ns, err = kube.Namespace(ctx, r.Cache, set.ls.Namespace); err != nil {
				return nil, err
			}
			namespaces[set.ls.Namespace] = ns
		}
		if ingress.ListenerSetAllowed(gw, ns) {
			out = append(out, set)
		}
	}
	return out, nil
}

// gatewayAPIRoutes reads every served route kind, the routes' namespaces
// and the claims: what ingress.ListenerRouteHosts needs. objs maps each
// route's String to its object.
func (r *Reconciler) gatewayAPIRoutes(ctx context.Context) (ingress.GatewayAPIRoutes, map[string]client.Object, error) {
	var out ingress.GatewayAPIRoutes
	objs := map[string]client.Object{}
	for _, kind := range r.GatewayAPI.RouteKinds {
		switch kind {
		case ingress.KindHTTPRoute:
			var list gatewayv1.HTTPRouteList
			if err := r.Cache.List(ctx, &list); err != nil {
				return out, nil, fmt.Errorf("list HTTPRoutes: %w", err)
			}
			for i := range list.Items {
				rt := ingress.HTTPRouteOf(&list.Items[i])
				out.Routes, objs[rt.String()] = append(out.Routes, rt), &list.Items[i]
			}
		case ingress.KindGRPCRoute:
			var list gatewayv1.GRPCRouteList
			if err := r.Cache.List(ctx, &list); err != nil {
				return out, nil, fmt.Errorf("list GRPCRoutes: %w", err)
			}
			for i := range list.Items {
				rt := ingress.GRPCRouteOf(&list.Items[i])
				out.Routes, objs[rt.String()] = append(out.Routes, rt), &list.Items[i]
			}
		case ingress.KindTLSRoute:
			var list gatewayv1.TLSRouteList
			if err := r.Cache.List(ctx, &list); err != nil {
				return out, nil, fmt.Errorf("list TLSRoutes: %w", err)
			}
			for i := range list.Items {
				rt := ingress.TLSRouteOf(&list.Items[i])
				out.Routes, objs[rt.String()] = append(out.Routes, rt), &list.Items[i]
			}
		}
	}
	slices.SortFunc(out.Routes, func(a, b ingress.Route) int { return strings.Compare(a.String(), b.String()) })
	if err := shim.ReadRouteClaims(ctx, r.Cache, &out, r.GatewayAPI.RequireHostClaims); err != nil {
		return out, nil, err
	}
	return out, objs, nil
}

// routeResource is a route's resource label, "httproute/<ns>/<name>".
func routeResource(rt ingress.Route) string {
	kind := map[string]string{ingress.KindHTTPRoute: HTTPRouteKind, ingress.KindGRPCRoute: GRPCRouteKind, ingress.KindTLSRoute: TLSRouteKind}[rt.Kind]
	return kind + "/" + rt.Namespace + "/" + rt.Name
}

// listenerHost is a listener's hostname, lower case, "" without one.
func listenerHost(l gatewayv1.Listener) string {
	if l.Hostname == nil {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(string(*l.Hostname)))
}

// addressTarget is where a Gateway API Gateway's hosts point: its
// status.addresses, IP addresses (type IPAddress, the default) before
// host names (type Hostname), as for a Service's load balancer.
func addressTarget(gw *gatewayv1.Gateway) publish.Target {
	var ips, hostnames []string
	for _, a := range gw.Status.Addresses {
		switch {
		case a.Type == nil || *a.Type == gatewayv1.IPAddressType:
			if _, err := netip.ParseAddr(a.Value); err == nil {
				ips = append(ips, a.Value)
			}
		case *a.Type == gatewayv1.HostnameAddressType:
			hostnames = append(hostnames, a.Value)
		}
	}
	switch {
	case len(ips) > 0:
		slices.Sort(ips)
		return publish.Target{Values: slices.Compact(ips)}
	case len(hostnames) > 0:
		return publish.Target{Values: hostnames[:1]}
	}
	return publish.Target{Problem: fmt.Sprintf("Gateway API Gateway %s/%s has no IPAddress or Hostname in status.addresses yet; set the DNSZone's targets", gw.Namespace, gw.Name)}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
