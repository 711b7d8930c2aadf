package shim

import (
	"context"
	"fmt"
	"slices"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/edgecert/edgecert/internal/ingress"
)

// GatewayAPIGatewayReconciler keeps the Certificates of an annotated
// Gateway API Gateway, one per certificateRef Secret, in the Secret's
// namespace. A ref to another namespace counts only when a ReferenceGrant
// there permits it; refused refs are reported with an event.
type GatewayAPIGatewayReconciler struct {
	certSync
}

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=referencegrants,verbs=get;list;watch

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
	want, err := ingress.GatewayAPICertificates(&gw, issuer, grants)
	if err != nil {
		r.Events.Eventf(&gw, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBadAnnotation, "Reconcile", "%v", err)
		return ctrl.Result{}, nil
	}
	if issuer.KindOrDefault() != edgecertv1alpha1.ClusterIssuerKind {
		// A ReferenceGrant lets the Gateway read a Secret of another
		// namespace; it does not let it use that namespace's Issuer (and
		// account). Certificates go there only with a ClusterIssuer.
		want.Certificates = slices.DeleteFunc(want.Certificates, func(c ingress.Certificate) bool {
			if c.Namespace == gw.Namespace {
				return false
			}
			r.Events.Eventf(&gw, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonReferenceNotPermitted, "Reconcile",
				"certificateRef Secret %s/%s: a Certificate in another namespace needs a ClusterIssuer (edgecert.dev/cluster-issuer), not the Issuer %q", c.Namespace, c.Spec.SecretName, issuer.Name)
			return true
		})
	}
	err = r.sync(ctx, src, &gw, want.Certificates)
	// After the sync, so that a refused ref's Certificate (from a grant
	// since removed) is already gone when the event is seen.
	for _, ref := range want.Refused {
		r.Events.Eventf(&gw, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonReferenceNotPermitted, "Reconcile", "%s", ref)
	}
	return result(err)
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
	var seen []gatewayv1.Namespace
	for _, f := range grant.Spec.From {
		if f.Group != gatewayv1.GroupName || f.Kind != "Gateway" || slices.Contains(seen, f.Namespace) {
			continue
		}
		seen = append(seen, f.Namespace)
		var list gatewayv1.GatewayList
		if err := r.Client.List(ctx, &list, client.InNamespace(string(f.Namespace))); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "List Gateways for a ReferenceGrant", "namespace", f.Namespace, "referenceGrant", client.ObjectKeyFromObject(grant))
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
