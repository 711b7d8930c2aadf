package shim

import (
	"context"
	"fmt"
	"strings"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/kube"
)

// Options configure the shims.
type Options struct {
	// Annotations are the annotation settings; CertManagerAnnotations
	// applies to Ingresses only.
	Annotations ingress.Options
	// IstioWorkloadNamespace is where an Istio Gateway's Certificates go
	// when no single gateway Service selects its pods.
	IstioWorkloadNamespace string
	// SecretOwnerReference sets spec.secretOwnerReference on generated
	// Certificates: their Secrets go when they go.
	SecretOwnerReference bool
	// Secrets are the Secret readers the manager's controllers share
	// (kube.NewSecrets); zero: the controller's own (ClusterIssuers'
	// account keys not among those it keeps).
	Secrets kube.Secrets
	// RequireHostClaims enforces claims on Gateway API route hostnames
	// even while no GatewayPolicy has claims (--require-host-claims).
	RequireHostClaims bool
}

// sourceChanged passes what can change the Certificates a source wants:
// its spec, its annotations, its deletion starting.
var sourceChanged = predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{})

// SetupWithManager registers the Istio Gateway, Gateway API Gateway and
// Ingress shims. A pass runs when a source's spec or annotations change,
// and when one of its Certificates changes (its Secret was issued, someone
// edited or deleted it); for a Gateway API Gateway, also when a
// ReferenceGrant that may let it use a Secret of another namespace
// changes, and when a route attached to it, its route namespaces' labels
// or the GatewayPolicies (claims) change; for a ListenerSet (or
// XListenerSet), also when its parent Gateway, its namespace's labels or
// a ReferenceGrant change, and, as for a Gateway, its routes. At
// start, every generated Certificate wakes its source, so one deleted
// while edgecert was down is cleaned up. Each Gateway API kind is watched
// only when the API server serves it.
func SetupWithManager(mgr ctrl.Manager, o Options) error {
	if o.Secrets.Cached == nil {
		o.Secrets = kube.NewSecrets(mgr.GetCache(), mgr.GetAPIReader(), "")
	}
	certs := certSync{Client: mgr.GetClient(), Events: mgr.GetEventRecorder("edgecert-shim"), SecretOwnerReference: o.SecretOwnerReference, reported: &sync.Map{}}
	log := mgr.GetLogger().WithName("shim")
	served := func(gvk schema.GroupVersionKind) (bool, error) {
		ok, err := Served(mgr.GetRESTMapper(), gvk)
		if err == nil && !ok {
			log.Info("Kind not served by the API server (its CRDs are not installed); its shim is off until edgecert restarts", "kind", gvk.String())
		}
		return ok, err
	}
	istio := &IstioGatewayReconciler{
		certSync:                 certs,
		APIReader:                mgr.GetAPIReader(),
		Secrets:                  o.Secrets,
		DefaultWorkloadNamespace: o.IstioWorkloadNamespace,
	}
	if ok, err := served(kube.IstioGatewayGVK); err != nil {
		return err
	} else if ok {
		if err := ctrl.NewControllerManagedBy(mgr).
			Named("istiogateway-shim").
			For(newIstioGateway(), builder.WithPredicates(sourceChanged)).
			Watches(&edgecertv1alpha1.Certificate{}, handler.EnqueueRequestsFromMapFunc(sourceOf(ingress.KindIstioGateway))).
			Watches(&edgecertv1alpha1.GatewayPolicy{}, handler.EnqueueRequestsFromMapFunc(istio.everyGateway)).
			Complete(istio); err != nil {
			return err
		}
	}
	if err := setupGatewayAPI(mgr, certs, o, served); err != nil {
		return err
	}
	ingresses := &IngressReconciler{certSync: certs, Options: o.Annotations}
	return ctrl.NewControllerManagedBy(mgr).
		Named("ingress-shim").
		For(&networkingv1.Ingress{}, builder.WithPredicates(sourceChanged)).
		Watches(&edgecertv1alpha1.Certificate{}, handler.EnqueueRequestsFromMapFunc(sourceOf(ingress.KindIngress))).
		Complete(ingresses)
}

// Served reports whether the API server serves gvk. A kind whose CRDs are
// not installed (no Istio, no Gateway API) is not an error: its shim is
// simply not started, so edgecert runs on clusters without them.
func Served(mapper meta.RESTMapper, gvk schema.GroupVersionKind) (bool, error) {
	_, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	switch {
	case err == nil:
		return true, nil
	case meta.IsNoMatchError(err):
		return false, nil
	}
	return false, fmt.Errorf("look up %s: %w", gvk, err)
}

// setupGatewayAPI registers the Gateway API Gateway shim (with the route
// kinds that are served) and the ListenerSet shim, when the API server
// serves Gateways and ReferenceGrants.
func setupGatewayAPI(mgr ctrl.Manager, certs certSync, o Options, served func(schema.GroupVersionKind) (bool, error)) error {
	gv := schema.GroupVersion(gatewayv1.GroupVersion)
	gatewayOK, err := served(gv.WithKind("Gateway"))
	if err != nil {
		return err
	}
	grantOK, err := served(schema.GroupVersion(gatewayv1beta1.GroupVersion).WithKind("ReferenceGrant"))
	if err != nil {
		return err
	}
	if !gatewayOK || !grantOK {
		return nil
	}
	ctx := context.Background()
	gatewayAPI := &GatewayAPIGatewayReconciler{certSync: certs, RequireHostClaims: o.RequireHostClaims, warnings: &Warnings{}}
	for _, k := range routeKinds {
		ok, err := served(gv.WithKind(k.kind))
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := mgr.GetFieldIndexer().IndexField(ctx, k.object(), routeParentIndex, func(obj client.Object) []string {
			return ingress.ParentGateways(k.route(obj))
		}); err != nil {
			return fmt.Errorf("index %ss by parent Gateway: %w", k.kind, err)
		}
		if err := mgr.GetFieldIndexer().IndexField(ctx, k.object(), routeListenerSetIndex, func(obj client.Object) []string {
			return routeListenerSetKeys(k.route(obj))
		}); err != nil {
			return fmt.Errorf("index %ss by parent ListenerSet: %w", k.kind, err)
		}
		gatewayAPI.routeKinds = append(gatewayAPI.routeKinds, k)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("gatewayapi-shim").
		For(&gatewayv1.Gateway{}, builder.WithPredicates(sourceChanged)).
		Watches(&edgecertv1alpha1.Certificate{}, handler.EnqueueRequestsFromMapFunc(sourceOf(ingress.KindGatewayAPIGateway))).
		Watches(&gatewayv1beta1.ReferenceGrant{}, handler.EnqueueRequestsFromMapFunc(gatewayAPI.gatewaysForGrant),
			builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	for _, k := range gatewayAPI.routeKinds {
		b = b.Watches(k.object(), handler.EnqueueRequestsFromMapFunc(gatewaysForRoute(k)), builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	}
	if len(gatewayAPI.routeKinds) > 0 {
		b = b.Watches(kube.NewNamespaceMetadata(), handler.EnqueueRequestsFromMapFunc(gatewayAPI.gatewaysForNamespace),
			builder.WithPredicates(predicate.LabelChangedPredicate{}), builder.OnlyMetadata).
			Watches(&edgecertv1alpha1.GatewayPolicy{}, handler.EnqueueRequestsFromMapFunc(gatewayAPI.annotatedGateways),
				builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	}
	if err := b.Complete(gatewayAPI); err != nil {
		return err
	}

	for _, kind := range []listenerSetKind{listenerSetV1, xListenerSet} {
		ok, err := served(kind.gvk)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := setupListenerSets(mgr, certs, o, kind, gatewayAPI.routeKinds); err != nil {
			return err
		}
	}
	return nil
}

// setupListenerSets registers the shim of a ListenerSet kind (ListenerSet
// or XListenerSet): a pass on a change of its spec or annotations, of one
// of its Certificates, of its parent Gateway, of a ReferenceGrant, of its
// namespace's labels, and, for its catch-all listeners, of a route that
// names it, of its routes' namespaces' labels and of the GatewayPolicies.
func setupListenerSets(mgr ctrl.Manager, certs certSync, o Options, kind listenerSetKind, routeKinds []routeKind) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), kind.object(), listenerSetParentIndex, listenerSetParentKey); err != nil {
		return fmt.Errorf("index %ss by parent Gateway: %w", kind.source, err)
	}
	sets := &ListenerSetReconciler{certSync: certs, RequireHostClaims: o.RequireHostClaims, kind: kind, routeKinds: routeKinds, warnings: &Warnings{}}
	b := ctrl.NewControllerManagedBy(mgr).
		Named(strings.ToLower(kind.source)+"-shim").
		For(kind.object(), builder.WithPredicates(sourceChanged)).
		Watches(&edgecertv1alpha1.Certificate{}, handler.EnqueueRequestsFromMapFunc(sourceOf(kind.source))).
		Watches(&gatewayv1.Gateway{}, handler.EnqueueRequestsFromMapFunc(sets.listenerSetsForGateway), builder.WithPredicates(sourceChanged)).
		Watches(&gatewayv1beta1.ReferenceGrant{}, handler.EnqueueRequestsFromMapFunc(sets.listenerSetsForGrant),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(kube.NewNamespaceMetadata(), handler.EnqueueRequestsFromMapFunc(sets.listenerSetsInNamespace),
			builder.WithPredicates(predicate.LabelChangedPredicate{}), builder.OnlyMetadata)
	for _, k := range routeKinds {
		b = b.Watches(k.object(), handler.EnqueueRequestsFromMapFunc(sets.listenerSetsForRoute(k)), builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	}
	if len(routeKinds) > 0 {
		b = b.Watches(&edgecertv1alpha1.GatewayPolicy{}, handler.EnqueueRequestsFromMapFunc(sets.listenerSetsForPolicy),
			builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	}
	return b.Complete(sets)
}
