package shim

import (
	networkingv1 "k8s.io/api/networking/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/controller"
	"github.com/edgecert/edgecert/internal/shim"
)

// Options configure the shims.
type Options struct {
	// Annotations are the annotation settings; CertManagerAnnotations
	// applies to Ingresses only.
	Annotations shim.Options
	// IstioWorkloadNamespace is where an Istio Gateway's Certificates go
	// when no single gateway Service selects its pods.
	IstioWorkloadNamespace string
}

// sourceChanged passes what can change the Certificates a source wants:
// its spec, its annotations, its deletion starting.
var sourceChanged = predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{})

// SetupWithManager registers the Istio Gateway and Ingress shims. A pass
// runs when a source's spec or annotations change, and when one of its
// Certificates changes (its Secret was issued, someone edited or deleted
// it). At start, every generated Certificate wakes its source, so one
// deleted while edgecert was down is cleaned up.
func SetupWithManager(mgr ctrl.Manager, o Options) error {
	sync := certSync{Client: mgr.GetClient(), Events: mgr.GetEventRecorder("edgecert-shim")}
	istio := &IstioGatewayReconciler{
		certSync:                 sync,
		APIReader:                mgr.GetAPIReader(),
		Secrets:                  controller.Secrets{Cached: mgr.GetClient(), Uncached: mgr.GetAPIReader()},
		DefaultWorkloadNamespace: o.IstioWorkloadNamespace,
	}
	if err := ctrl.NewControllerManagedBy(mgr).
		Named("istiogateway-shim").
		For(newIstioGateway(), builder.WithPredicates(sourceChanged)).
		Watches(&edgecertv1alpha1.Certificate{}, handler.EnqueueRequestsFromMapFunc(sourceOf(shim.KindIstioGateway))).
		Complete(istio); err != nil {
		return err
	}
	ingress := &IngressReconciler{certSync: sync, Options: o.Annotations}
	return ctrl.NewControllerManagedBy(mgr).
		Named("ingress-shim").
		For(&networkingv1.Ingress{}, builder.WithPredicates(sourceChanged)).
		Watches(&edgecertv1alpha1.Certificate{}, handler.EnqueueRequestsFromMapFunc(sourceOf(shim.KindIngress))).
		Complete(ingress)
}
