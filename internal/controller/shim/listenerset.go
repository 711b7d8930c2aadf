package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/kube"
)

// ListenerSetReconciler keeps the Certificates of a Gateway API
// ListenerSet (or of an XListenerSet, its experimental name): one per
// certificateRef Secret of its TLS-terminating listeners, in the Secret's
// namespace (the ListenerSet's by default), so that a tenant gets
// certificates on a shared Gateway without touching it. A listener with a
// hostname is certified for it; one without (or, with the
// listener-hostnames annotation on the ListenerSet, with a wildcard one)
// for the hostnames of the routes attached to it, each route's counting
// only where its own namespace has claimed them, as for a Gateway's
// catch-all listeners. Only while the parent Gateway's
// spec.allowedListeners admits the ListenerSet's namespace. The issuer is
// the ListenerSet's own annotation, else the parent Gateway's when that is
// a ClusterIssuer.
type ListenerSetReconciler struct {
	certSync
	// RequireHostClaims enforces claims on route hostnames even while no
	// GatewayPolicy has claims (--require-host-claims).
	RequireHostClaims bool
	// kind is ListenerSet or XListenerSet.
	kind listenerSetKind
	// routeKinds are the route kinds the API server serves.
	routeKinds []routeKind
	// warnings are the route and limit warnings told, each once.
	warnings *Warnings
}

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=listenersets,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.x-k8s.io,resources=xlistenersets,verbs=get;list;watch

// listenerSetKind is gateway.networking.k8s.io/v1 ListenerSet, read as its
// Go type, or gateway.networking.x-k8s.io/v1alpha1 XListenerSet (Gateway
// API v1.3 and v1.4's experimental channel), which the pinned Gateway API
// module has no type for: it is read as unstructured and its spec, of the
// same fields, as a ListenerSet's.
type listenerSetKind struct {
	// source is ingress.KindListenerSet or ingress.KindXListenerSet.
	source string
	gvk    schema.GroupVersionKind
}

// XListenerSetGVK is gateway.networking.x-k8s.io/v1alpha1 XListenerSet.
var XListenerSetGVK = schema.GroupVersionKind{Group: ingress.XGroupName, Version: "v1alpha1", Kind: ingress.KindXListenerSet}

var (
	listenerSetV1 = listenerSetKind{source: ingress.KindListenerSet, gvk: schema.GroupVersion(gatewayv1.GroupVersion).WithKind(ingress.KindListenerSet)}
	xListenerSet  = listenerSetKind{source: ingress.KindXListenerSet, gvk: XListenerSetGVK}
)

// object is an empty object of the kind, to get, watch or index.
func (k listenerSetKind) object() client.Object {
	if k.source == ingress.KindListenerSet {
		return &gatewayv1.ListenerSet{}
	}
	return kube.NewUnstructured(k.gvk, "", "")
}

// newList is an empty list of the kind.
func (k listenerSetKind) newList() client.ObjectList {
	if k.source == ingress.KindListenerSet {
		return &gatewayv1.ListenerSetList{}
	}
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
	return l
}

// items returns a list's objects.
func (k listenerSetKind) items(l client.ObjectList) []client.Object {
	switch l := l.(type) {
	case *gatewayv1.ListenerSetList:
		return itemPointers(l.Items)
	case *unstructured.UnstructuredList:
		return itemPointers(l.Items)
	}
	return nil
}

// ListenerSetOf reads a ListenerSet, or an XListenerSet's metadata and
// spec (parentRef and listeners have the same fields; JSON round trip,
// unknown fields left out) as a ListenerSet.
func ListenerSetOf(o client.Object) (*gatewayv1.ListenerSet, error) {
	switch o := o.(type) {
	case *gatewayv1.ListenerSet:
		return o, nil
	case *unstructured.Unstructured:
		data, err := json.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		ls := &gatewayv1.ListenerSet{}
		if err := json.Unmarshal(data, ls); err != nil {
			return nil, fmt.Errorf("read %s %s/%s as a ListenerSet: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
		return ls, nil
	}
	return nil, fmt.Errorf("%T is not a ListenerSet", o)
}

// Reconcile makes the ListenerSet's generated Certificates match its
// listeners, its parent Gateway's admission and annotations, the
// ReferenceGrants of the namespaces it names and the routes attached to
// its catch-all listeners; a ListenerSet that is gone, not admitted or
// without an issuer has none.
func (r *ListenerSetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	src := ingress.Source{Kind: r.kind.source, Namespace: req.Namespace, Name: req.Name}
	obj := r.kind.object()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
		r.warnings.Tell(src.String(), nil, nil)
		return result(r.sync(ctx, src, nil, nil))
	}
	obj.GetObjectKind().SetGroupVersionKind(r.kind.gvk)
	if !obj.GetDeletionTimestamp().IsZero() {
		return result(r.sync(ctx, src, obj, nil))
	}
	ls, err := ListenerSetOf(obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	var gw *gatewayv1.Gateway
	gwNS, gwName, isGateway := ingress.ListenerSetParent(ls)
	if isGateway {
		gw = &gatewayv1.Gateway{}
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: gwNS, Name: gwName}, gw); err != nil {
			if client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, err
			}
			gw = nil
		}
	}
	issuer, ok, err := ingress.ListenerSetIssuer(ls, gw)
	if err != nil {
		r.Events.Eventf(obj, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBadAnnotation, "Reconcile", "%v", err)
		return ctrl.Result{}, nil
	}
	if !ok {
		r.warnings.Tell(src.String(), nil, nil)
		return result(r.sync(ctx, src, obj, nil))
	}
	if gw == nil {
		r.warnings.Tell(src.String(), nil, nil)
		err := r.sync(ctx, src, obj, nil)
		r.Events.Eventf(obj, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonListenerSetNotAllowed, "Reconcile",
			"parentRef names no Gateway API Gateway that exists (%s/%s); no Certificate for its listeners", gwNS, gwName)
		return result(err)
	}
	ns, err := kube.Namespace(ctx, r.Client, ls.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !ingress.ListenerSetAllowed(gw, ns) {
		r.warnings.Tell(src.String(), nil, nil)
		err := r.sync(ctx, src, obj, nil)
		r.Events.Eventf(obj, gw, corev1.EventTypeWarning, edgecertv1alpha1.ReasonListenerSetNotAllowed, "Reconcile", "%s",
			ingress.ListenerSetNotAllowedMessage(gw.Namespace, gw.Name, ls.Namespace))
		return result(err)
	}
	var grants []gatewayv1beta1.ReferenceGrant
	for _, refNS := range ingress.ListenerSetRefNamespaces(ls) {
		var list gatewayv1beta1.ReferenceGrantList
		if err := r.Client.List(ctx, &list, client.InNamespace(refNS)); err != nil {
			return ctrl.Result{}, fmt.Errorf("list ReferenceGrants in %s: %w", refNS, err)
		}
		grants = append(grants, list.Items...)
	}
	routes, objs, err := r.routes(ctx, ls)
	if err != nil {
		return ctrl.Result{}, err
	}
	want, err := ingress.ListenerSetCertificates(ls, r.kind.source, issuer, grants, routes)
	if err != nil {
		r.Events.Eventf(obj, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBadAnnotation, "Reconcile", "%v", err)
		return ctrl.Result{}, nil
	}
	want.Certificates = onlyLocalUnlessCluster(r.Events, obj, issuer, want.Certificates)
	err = r.sync(ctx, src, obj, want.Certificates)
	for _, ref := range want.Refused {
		r.Events.Eventf(obj, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonReferenceNotPermitted, "Reconcile", "%s", ref)
	}
	tellRouteWarnings(r.warnings, r.Events, src, obj, want, objs)
	return result(err)
}

// routes reads the routes whose parentRefs name the ListenerSet (through
// the routeListenerSetIndex), their namespaces' labels and the claims:
// what its catch-all listeners certify. Nothing is read for a ListenerSet
// whose every listener has a full hostname.
func (r *ListenerSetReconciler) routes(ctx context.Context, ls *gatewayv1.ListenerSet) (ingress.GatewayAPIRoutes, map[string]client.Object, error) {
	if !ingress.ListenerSetCatchAll(ls) {
		return ingress.GatewayAPIRoutes{}, nil, nil
	}
	return readRoutes(ctx, r.Client, r.routeKinds, routeListenerSetIndex, ingress.ListenerSetRef(r.kind.source, ls.Namespace, ls.Name).String(), r.RequireHostClaims)
}

// routeListenerSetIndex indexes routes by every ListenerSet and
// XListenerSet their parentRefs name, as "<kind> <namespace>/<name>"
// (ingress.Parent's String).
const routeListenerSetIndex = "edgecert.routeParentListenerSets"

// routeListenerSetKeys is the index function of routeListenerSetIndex.
func routeListenerSetKeys(rt ingress.Route) []string {
	var keys []string
	for _, kind := range []listenerSetKind{listenerSetV1, xListenerSet} {
		for _, key := range ingress.ParentsOf(rt, kind.gvk.Group, kind.source) {
			ns, name, _ := strings.Cut(key, "/")
			keys = append(keys, ingress.ListenerSetRef(kind.source, ns, name).String())
		}
	}
	return keys
}

// listenerSetsForRoute maps a route to the ListenerSets of the
// reconciler's kind that its parentRefs name (the old route too, on an
// update).
func (r *ListenerSetReconciler) listenerSetsForRoute(k routeKind) func(context.Context, client.Object) []reconcile.Request {
	return func(_ context.Context, o client.Object) []reconcile.Request {
		return gatewayRequests(ingress.ParentsOf(k.route(o), r.kind.gvk.Group, r.kind.source))
	}
}

// listenerSetsForPolicy maps a GatewayPolicy change to every ListenerSet
// with a catch-all listener: a claim given or taken back changes which
// route hostnames count.
func (r *ListenerSetReconciler) listenerSetsForPolicy(ctx context.Context, _ client.Object) []reconcile.Request {
	list := r.kind.newList()
	if err := r.Client.List(ctx, list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List ListenerSets for a GatewayPolicy", "kind", r.kind.source)
		return nil
	}
	var reqs []reconcile.Request
	for _, o := range r.kind.items(list) {
		if ls, err := ListenerSetOf(o); err == nil && ingress.ListenerSetCatchAll(ls) {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}})
		}
	}
	return reqs
}

// listenerSetParentIndex indexes ListenerSets by their parent Gateway's
// "namespace/name".
const listenerSetParentIndex = "edgecert.listenerSetParentGateway"

// listenerSetParentKey is the index function of listenerSetParentIndex.
func listenerSetParentKey(o client.Object) []string {
	ls, err := ListenerSetOf(o)
	if err != nil {
		return nil
	}
	if ns, name, ok := ingress.ListenerSetParent(ls); ok {
		return []string{ns + "/" + name}
	}
	return nil
}

// listenerSetsForGateway maps a Gateway (its allowedListeners or issuer
// annotation changed, or it came or went) to the ListenerSets that name it.
func (r *ListenerSetReconciler) listenerSetsForGateway(ctx context.Context, o client.Object) []reconcile.Request {
	return r.listenerSets(ctx, client.MatchingFields{listenerSetParentIndex: o.GetNamespace() + "/" + o.GetName()})
}

// listenerSetsInNamespace maps a Namespace's label change to its
// ListenerSets (an allowedListeners selector may match it differently
// now) and to those its routes name (an allowedRoutes selector or a
// claim may).
func (r *ListenerSetReconciler) listenerSetsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	reqs := r.listenerSets(ctx, client.InNamespace(o.GetName()))
	named := routeParentsInNamespace(ctx, r.Client, r.routeKinds, o.GetName(), func(route ingress.Route) []string {
		return ingress.ParentsOf(route, r.kind.gvk.Group, r.kind.source)
	})
	for _, req := range gatewayRequests(named) {
		if !slices.Contains(reqs, req) {
			reqs = append(reqs, req)
		}
	}
	return reqs
}

func (r *ListenerSetReconciler) listenerSets(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	list := r.kind.newList()
	if err := r.Client.List(ctx, list, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List ListenerSets", "kind", r.kind.source)
		return nil
	}
	var reqs []reconcile.Request
	for _, o := range r.kind.items(list) {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}})
	}
	return reqs
}

// listenerSetsForGrant maps a ReferenceGrant to the ListenerSets it may
// concern: those in the namespaces its from entries name for the
// reconciler's kind, whose listeners name a Secret in the grant's
// namespace.
func (r *ListenerSetReconciler) listenerSetsForGrant(ctx context.Context, o client.Object) []reconcile.Request {
	grant, ok := o.(*gatewayv1beta1.ReferenceGrant)
	if !ok {
		return nil
	}
	var reqs []reconcile.Request
	for _, ns := range grantedNamespaces(grant, r.kind.gvk.Group, r.kind.source) {
		list := r.kind.newList()
		if err := r.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "List ListenerSets for a ReferenceGrant", "namespace", ns, "referenceGrant", client.ObjectKeyFromObject(grant))
			continue
		}
		for _, obj := range r.kind.items(list) {
			ls, err := ListenerSetOf(obj)
			if err != nil {
				continue
			}
			if slices.Contains(ingress.ListenerSetRefNamespaces(ls), grant.Namespace) {
				reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ls.Namespace, Name: ls.Name}})
			}
		}
	}
	return reqs
}
