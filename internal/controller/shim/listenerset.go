package shim

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
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
// ListenerSet: one per certificateRef Secret of its TLS-terminating
// listeners with a hostname, in the Secret's namespace (the ListenerSet's
// by default), so that a tenant gets certificates on a shared Gateway
// without touching it. Only while the parent Gateway's
// spec.allowedListeners admits the ListenerSet's namespace. The issuer is
// the ListenerSet's own annotation, else the parent Gateway's when that is
// a ClusterIssuer.
type ListenerSetReconciler struct {
	certSync
}

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=listenersets,verbs=get;list;watch

// Reconcile makes the ListenerSet's generated Certificates match its
// listeners, its parent Gateway's admission and annotations, and the
// ReferenceGrants of the namespaces it names; a ListenerSet that is gone,
// not admitted or without an issuer has none.
func (r *ListenerSetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	src := ingress.Source{Kind: ingress.KindListenerSet, Namespace: req.Namespace, Name: req.Name}
	var ls gatewayv1.ListenerSet
	if err := r.Client.Get(ctx, req.NamespacedName, &ls); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
		return result(r.sync(ctx, src, nil, nil))
	}
	ls.SetGroupVersionKind(schema.GroupVersion(gatewayv1.GroupVersion).WithKind(ingress.KindListenerSet))
	if !ls.DeletionTimestamp.IsZero() {
		return result(r.sync(ctx, src, &ls, nil))
	}
	var gw *gatewayv1.Gateway
	gwNS, gwName, isGateway := ingress.ListenerSetParent(&ls)
	if isGateway {
		gw = &gatewayv1.Gateway{}
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: gwNS, Name: gwName}, gw); err != nil {
			if client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, err
			}
			gw = nil
		}
	}
	issuer, ok, err := ingress.ListenerSetIssuer(&ls, gw)
	if err != nil {
		r.Events.Eventf(&ls, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBadAnnotation, "Reconcile", "%v", err)
		return ctrl.Result{}, nil
	}
	if !ok {
		return result(r.sync(ctx, src, &ls, nil))
	}
	if gw == nil {
		err := r.sync(ctx, src, &ls, nil)
		r.Events.Eventf(&ls, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonListenerSetNotAllowed, "Reconcile",
			"parentRef names no Gateway API Gateway that exists (%s/%s); no Certificate for its listeners", gwNS, gwName)
		return result(err)
	}
	ns, err := kube.Namespace(ctx, r.Client, ls.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !ingress.ListenerSetAllowed(gw, ns) {
		err := r.sync(ctx, src, &ls, nil)
		r.Events.Eventf(&ls, gw, corev1.EventTypeWarning, edgecertv1alpha1.ReasonListenerSetNotAllowed, "Reconcile", "%s",
			ingress.ListenerSetNotAllowedMessage(gw.Namespace, gw.Name, ls.Namespace))
		return result(err)
	}
	var grants []gatewayv1beta1.ReferenceGrant
	for _, refNS := range ingress.ListenerSetRefNamespaces(&ls) {
		var list gatewayv1beta1.ReferenceGrantList
		if err := r.Client.List(ctx, &list, client.InNamespace(refNS)); err != nil {
			return ctrl.Result{}, fmt.Errorf("list ReferenceGrants in %s: %w", refNS, err)
		}
		grants = append(grants, list.Items...)
	}
	want, err := ingress.ListenerSetCertificates(&ls, issuer, grants)
	if err != nil {
		r.Events.Eventf(&ls, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBadAnnotation, "Reconcile", "%v", err)
		return ctrl.Result{}, nil
	}
	want.Certificates = onlyLocalUnlessCluster(r.Events, &ls, issuer, want.Certificates)
	err = r.sync(ctx, src, &ls, want.Certificates)
	for _, ref := range want.Refused {
		r.Events.Eventf(&ls, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonReferenceNotPermitted, "Reconcile", "%s", ref)
	}
	for _, t := range want.Truncated {
		r.Events.Eventf(&ls, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonTooManyHosts, "Reconcile", "%s", t)
	}
	return result(err)
}

// listenerSetParentIndex indexes ListenerSets by their parent Gateway's
// "namespace/name".
const listenerSetParentIndex = "edgecert.listenerSetParentGateway"

// listenerSetParentKey is the index function of listenerSetParentIndex.
func listenerSetParentKey(o client.Object) []string {
	ls, ok := o.(*gatewayv1.ListenerSet)
	if !ok {
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
// ListenerSets: an allowedListeners selector may match it differently now.
func (r *ListenerSetReconciler) listenerSetsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	return r.listenerSets(ctx, client.InNamespace(o.GetName()))
}

func (r *ListenerSetReconciler) listenerSets(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	var list gatewayv1.ListenerSetList
	if err := r.Client.List(ctx, &list, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List ListenerSets")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: list.Items[i].Namespace, Name: list.Items[i].Name}})
	}
	return reqs
}

// listenerSetsForGrant maps a ReferenceGrant to the ListenerSets it may
// concern: those in the namespaces its from entries name for ListenerSets,
// whose listeners name a Secret in the grant's namespace.
func (r *ListenerSetReconciler) listenerSetsForGrant(ctx context.Context, o client.Object) []reconcile.Request {
	grant, ok := o.(*gatewayv1beta1.ReferenceGrant)
	if !ok {
		return nil
	}
	var reqs []reconcile.Request
	seen := map[gatewayv1.Namespace]bool{}
	for _, f := range grant.Spec.From {
		if f.Group != gatewayv1.GroupName || f.Kind != ingress.KindListenerSet || seen[f.Namespace] {
			continue
		}
		seen[f.Namespace] = true
		var list gatewayv1.ListenerSetList
		if err := r.Client.List(ctx, &list, client.InNamespace(string(f.Namespace))); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "List ListenerSets for a ReferenceGrant", "namespace", f.Namespace, "referenceGrant", client.ObjectKeyFromObject(grant))
			continue
		}
		for i := range list.Items {
			ls := &list.Items[i]
			for _, ns := range ingress.ListenerSetRefNamespaces(ls) {
				if ns == grant.Namespace {
					reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ls.Namespace, Name: ls.Name}})
					break
				}
			}
		}
	}
	return reqs
}
