package shim

import (
	"context"
	"fmt"
	"slices"
	"strings"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/kube"
)

// GatewayAPIGatewayReconciler keeps the Certificates of an annotated
// Gateway API Gateway, one per certificateRef Secret, in the Secret's
// namespace. A ref to another namespace counts only when a ReferenceGrant
// there permits it; refused refs are reported with an event.
//
// A listener without hostname (or, with the listener-hostnames annotation,
// with a wildcard one) is certified for the hostnames of the HTTPRoutes,
// GRPCRoutes and TLSRoutes attached to it, each route's counting only where
// its own namespace has claimed them; a route asking for more is told with
// an event and left out.
type GatewayAPIGatewayReconciler struct {
	certSync
	// RequireHostClaims enforces claims on route hostnames even while no
	// GatewayPolicy has claims (--require-host-claims).
	RequireHostClaims bool
	// routeKinds are the route kinds the API server serves.
	routeKinds []routeKind
	// warnings are the route and limit warnings told, each once.
	warnings *Warnings
}

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=referencegrants,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;grpcroutes;tlsroutes,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=edgecert.dev,resources=gatewaypolicies,verbs=get;list;watch

// Reconcile makes the Gateway's generated Certificates match its listeners,
// the ReferenceGrants of the namespaces they name, and its annotations; a
// Gateway that is gone or has no issuer annotation has none.
func (r *GatewayAPIGatewayReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	src := ingress.Source{Kind: ingress.KindGatewayAPIGateway, Namespace: req.Namespace, Name: req.Name}
	var gw gatewayv1.Gateway
	if err := r.Client.Get(ctx, req.NamespacedName, &gw); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
		r.warnings.Tell(src.String(), nil, nil)
		return result(r.sync(ctx, src, nil, nil))
	}
	gw.SetGroupVersionKind(schema.GroupVersion(gatewayv1.GroupVersion).WithKind("Gateway"))
	if !gw.DeletionTimestamp.IsZero() {
		return result(r.sync(ctx, src, &gw, nil))
	}
	issuer, ok, err := ingress.IssuerFor(gw.Annotations, ingress.Options{})
	if err != nil {
		r.Events.Eventf(&gw, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBadAnnotation, "Reconcile", "%v", err)
		return ctrl.Result{}, nil
	}
	if !ok {
		r.warnings.Tell(src.String(), nil, nil)
		return result(r.sync(ctx, src, &gw, nil))
	}
	var grants []gatewayv1beta1.ReferenceGrant
	for _, ns := range ingress.GatewayAPIRefNamespaces(&gw) {
		var list gatewayv1beta1.ReferenceGrantList
		if err := r.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return ctrl.Result{}, fmt.Errorf("list ReferenceGrants in %s: %w", ns, err)
		}
		grants = append(grants, list.Items...)
	}
	routes, objs, err := r.routes(ctx, &gw)
	if err != nil {
		return ctrl.Result{}, err
	}
	want, err := ingress.GatewayAPICertificates(&gw, issuer, grants, routes)
	if err != nil {
		r.Events.Eventf(&gw, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBadAnnotation, "Reconcile", "%v", err)
		return ctrl.Result{}, nil
	}
	want.Certificates = onlyLocalUnlessCluster(r.Events, &gw, issuer, want.Certificates)
	err = r.sync(ctx, src, &gw, want.Certificates)
	// After the sync, so that a refused ref's Certificate (from a grant
	// since removed) is already gone when the event is seen.
	for _, ref := range want.Refused {
		r.Events.Eventf(&gw, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonReferenceNotPermitted, "Reconcile", "%s", ref)
	}
	tellRouteWarnings(r.warnings, r.Events, src, &gw, want, objs)
	return result(err)
}

// tellRouteWarnings tells, once while they hold (a source's passes follow
// its Certificates' status changes), each route left out of the source's
// Certificates for hosts its namespace has not claimed (an event on the
// route, related to the source; objs maps routes' String to their
// objects) and each Certificate cut to ingress.MaxDNSNames (an event on
// the source).
func tellRouteWarnings(w *Warnings, ev events.EventRecorder, src ingress.Source, obj client.Object, want ingress.GatewayAPIResult, objs map[string]client.Object) {
	told := map[string]string{}
	for _, u := range want.Unclaimed {
		if route := objs[u.Route.String()]; route != nil {
			told["route "+string(route.GetUID())] = u.String()
		}
	}
	for _, t := range want.Truncated {
		told["certificate "+t.Namespace+"/"+t.Name] = t.String()
	}
	w.Tell(src.String(), told, func(key, message string) {
		if uid, ok := strings.CutPrefix(key, "route "); ok {
			for _, route := range objs {
				if string(route.GetUID()) == uid {
					ev.Eventf(route, obj, corev1.EventTypeWarning, edgecertv1alpha1.ReasonRouteHostNotClaimed, "Reconcile", "%s", message)
				}
			}
			return
		}
		ev.Eventf(obj, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonTooManyHosts, "Reconcile", "%s", message)
	})
}

// onlyLocalUnlessCluster drops the Certificates outside the source's
// namespace unless the issuer is a ClusterIssuer, with an event on the
// source for each: a ReferenceGrant lets a Gateway or ListenerSet read a
// Secret of another namespace; it does not let it use that namespace's
// Issuer (and account).
func onlyLocalUnlessCluster(ev events.EventRecorder, obj client.Object, issuer edgecertv1alpha1.IssuerReference, certs []ingress.Certificate) []ingress.Certificate {
	if issuer.KindOrDefault() == edgecertv1alpha1.ClusterIssuerKind {
		return certs
	}
	return slices.DeleteFunc(certs, func(c ingress.Certificate) bool {
		if c.Namespace == obj.GetNamespace() {
			return false
		}
		ev.Eventf(obj, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonReferenceNotPermitted, "Reconcile",
			"certificateRef Secret %s/%s: a Certificate in another namespace needs a ClusterIssuer (edgecert.dev/cluster-issuer), not the Issuer %q", c.Namespace, c.Spec.SecretName, issuer.Name)
		return true
	})
}

// routes reads the routes whose parentRefs name the Gateway (through the
// parent index), their namespaces' labels and the claims: what its
// catch-all listeners certify. objs maps each route's String to the
// object, for events. Nothing is read for a Gateway whose every listener
// has a full hostname: routes cannot add to those.
func (r *GatewayAPIGatewayReconciler) routes(ctx context.Context, gw *gatewayv1.Gateway) (ingress.GatewayAPIRoutes, map[string]client.Object, error) {
	if !ingress.HasCatchAll(gw.Spec.Listeners) {
		return ingress.GatewayAPIRoutes{}, nil, nil
	}
	return readRoutes(ctx, r.Client, r.routeKinds, routeParentIndex, gw.Namespace+"/"+gw.Name, r.RequireHostClaims)
}

// readRoutes reads the routes of kinds that index files under key (a
// parent, as routeParentIndex or routeListenerSetIndex name it), their
// namespaces' labels and the claims (ReadRouteClaims): what the parent's
// catch-all listeners certify. It returns each route's object too, by the
// route's name, for events.
func readRoutes(ctx context.Context, c client.Client, kinds []routeKind, index, key string, requireClaims bool) (ingress.GatewayAPIRoutes, map[string]client.Object, error) {
	var out ingress.GatewayAPIRoutes
	objs := map[string]client.Object{}
	for _, k := range kinds {
		list := k.newList()
		if err := c.List(ctx, list, client.MatchingFields{index: key}); err != nil {
			return out, nil, fmt.Errorf("list %ss for %s: %w", k.kind, key, err)
		}
		for _, obj := range k.items(list) {
			route := k.route(obj)
			obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersion(gatewayv1.GroupVersion).WithKind(k.kind))
			out.Routes = append(out.Routes, route)
			objs[route.String()] = obj
		}
	}
	if err := ReadRouteClaims(ctx, c, &out, requireClaims); err != nil {
		return out, nil, err
	}
	return out, objs, nil
}

// ReadRouteClaims fills in what deciding about routes' hosts needs beyond
// the routes themselves: their namespaces (labels, for allowedRoutes
// selectors and claims) and the GatewayPolicies' claims. Nothing is read
// when there are no routes.
func ReadRouteClaims(ctx context.Context, c client.Reader, routes *ingress.GatewayAPIRoutes, requireHostClaims bool) error {
	if len(routes.Routes) == 0 {
		return nil
	}
	routes.Namespaces = map[string]gateway.Namespace{}
	for _, rt := range routes.Routes {
		if _, ok := routes.Namespaces[rt.Namespace]; ok {
			continue
		}
		ns, err := kube.Namespace(ctx, c, rt.Namespace)
		if err != nil {
			return err
		}
		routes.Namespaces[rt.Namespace] = ns
	}
	var policies edgecertv1alpha1.GatewayPolicyList
	if err := c.List(ctx, &policies); err != nil {
		return fmt.Errorf("list GatewayPolicies: %w", err)
	}
	routes.Policies = policies.Items
	routes.ClaimsEnforced = gateway.ClaimsEnforced(policies.Items, requireHostClaims)
	return nil
}

// gatewaysForRoute maps a route to the Gateways its parentRefs name. An
// update maps the old route too, so a Gateway a route left is looked at.
func gatewaysForRoute(k routeKind) func(context.Context, client.Object) []reconcile.Request {
	return func(_ context.Context, o client.Object) []reconcile.Request {
		return gatewayRequests(ingress.ParentGateways(k.route(o)))
	}
}

// gatewaysForNamespace maps a Namespace's label change to the Gateways
// its routes name: an allowedRoutes selector or a claim may match them
// differently now.
func (r *GatewayAPIGatewayReconciler) gatewaysForNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	return gatewayRequests(routeParentsInNamespace(ctx, r.Client, r.routeKinds, o.GetName(), ingress.ParentGateways))
}

// routeParentsInNamespace lists the routes of kinds in namespace ns and
// returns the parents ("namespace/name") that parents finds in them,
// each once. A kind that cannot be listed is logged and skipped: the
// others still map.
func routeParentsInNamespace(ctx context.Context, c client.Client, kinds []routeKind, ns string, parents func(ingress.Route) []string) []string {
	var keys []string
	for _, k := range kinds {
		list := k.newList()
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "List routes for a Namespace", "kind", k.kind, "namespace", ns)
			continue
		}
		for _, obj := range k.items(list) {
			for _, key := range parents(k.route(obj)) {
				if !slices.Contains(keys, key) {
					keys = append(keys, key)
				}
			}
		}
	}
	return keys
}

// annotatedGateways maps a GatewayPolicy change to every Gateway with an
// issuer annotation: a claim given or taken back changes which route
// hostnames count.
func (r *GatewayAPIGatewayReconciler) annotatedGateways(ctx context.Context, _ client.Object) []reconcile.Request {
	var list gatewayv1.GatewayList
	if err := r.Client.List(ctx, &list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List Gateways for a GatewayPolicy")
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		gw := &list.Items[i]
		if _, ok, _ := ingress.IssuerFor(gw.Annotations, ingress.Options{}); ok {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}})
		}
	}
	return reqs
}

// gatewayRequests turns "namespace/name" keys into requests.
func gatewayRequests(keys []string) []reconcile.Request {
	reqs := make([]reconcile.Request, 0, len(keys))
	for _, key := range keys {
		ns, name, _ := strings.Cut(key, "/")
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	}
	return reqs
}

// routeParentIndex indexes routes by the "namespace/name" of every Gateway
// their parentRefs name.
const routeParentIndex = "edgecert.routeParentGateways"

// routeKind is one of the route kinds a catch-all listener certifies:
// how to list it and read it as an ingress.Route.
type routeKind struct {
	kind    string
	object  func() client.Object
	newList func() client.ObjectList
	items   func(client.ObjectList) []client.Object
	route   func(client.Object) ingress.Route
}

// routeKinds are HTTPRoute, GRPCRoute and TLSRoute.
var routeKinds = []routeKind{
	{
		kind:    ingress.KindHTTPRoute,
		object:  func() client.Object { return &gatewayv1.HTTPRoute{} },
		newList: func() client.ObjectList { return &gatewayv1.HTTPRouteList{} },
		items: func(l client.ObjectList) []client.Object {
			return itemPointers(l.(*gatewayv1.HTTPRouteList).Items)
		},
		route: func(o client.Object) ingress.Route {
			if r, ok := o.(*gatewayv1.HTTPRoute); ok {
				return ingress.HTTPRouteOf(r)
			}
			return ingress.Route{}
		},
	},
	{
		kind:    ingress.KindGRPCRoute,
		object:  func() client.Object { return &gatewayv1.GRPCRoute{} },
		newList: func() client.ObjectList { return &gatewayv1.GRPCRouteList{} },
		items: func(l client.ObjectList) []client.Object {
			return itemPointers(l.(*gatewayv1.GRPCRouteList).Items)
		},
		route: func(o client.Object) ingress.Route {
			if r, ok := o.(*gatewayv1.GRPCRoute); ok {
				return ingress.GRPCRouteOf(r)
			}
			return ingress.Route{}
		},
	},
	{
		kind:    ingress.KindTLSRoute,
		object:  func() client.Object { return &gatewayv1.TLSRoute{} },
		newList: func() client.ObjectList { return &gatewayv1.TLSRouteList{} },
		items: func(l client.ObjectList) []client.Object {
			return itemPointers(l.(*gatewayv1.TLSRouteList).Items)
		},
		route: func(o client.Object) ingress.Route {
			if r, ok := o.(*gatewayv1.TLSRoute); ok {
				return ingress.TLSRouteOf(r)
			}
			return ingress.Route{}
		},
	},
}

// itemPointers returns pointers to a list's items as client.Objects.
func itemPointers[T any, PT interface {
	*T
	client.Object
}](items []T) []client.Object {
	out := make([]client.Object, 0, len(items))
	for i := range items {
		out = append(out, PT(&items[i]))
	}
	return out
}

// grantedNamespaces are the namespaces, each once, whose objects of group
// and kind the grant's from entries name.
func grantedNamespaces(grant *gatewayv1beta1.ReferenceGrant, group, kind string) []string {
	var out []string
	for _, f := range grant.Spec.From {
		if string(f.Group) == group && string(f.Kind) == kind && !slices.Contains(out, string(f.Namespace)) {
			out = append(out, string(f.Namespace))
		}
	}
	return out
}

// gatewaysForGrant maps a ReferenceGrant to the Gateways it may concern:
// those in the namespaces its from entries name for Gateways, whose
// listeners name a Secret in the grant's namespace. Both the old and the
// new grant of an update are mapped, so a Gateway that loses its grant is
// looked at too.
func (r *GatewayAPIGatewayReconciler) gatewaysForGrant(ctx context.Context, o client.Object) []reconcile.Request {
	grant, ok := o.(*gatewayv1beta1.ReferenceGrant)
	if !ok {
		return nil
	}
	var reqs []reconcile.Request
	for _, ns := range grantedNamespaces(grant, gatewayv1.GroupName, "Gateway") {
		var list gatewayv1.GatewayList
		if err := r.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "List Gateways for a ReferenceGrant", "namespace", ns, "referenceGrant", client.ObjectKeyFromObject(grant))
			continue
		}
		for i := range list.Items {
			gw := &list.Items[i]
			if slices.Contains(ingress.GatewayAPIRefNamespaces(gw), grant.Namespace) {
				reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}})
			}
		}
	}
	return reqs
}
