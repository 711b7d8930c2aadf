package shim

import (
	"context"
	"strings"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgecert/edgecert/internal/ingress"
)

// IngressReconciler keeps the Certificates of an annotated Ingress, one
// per spec.tls Secret, in the Ingress's namespace.
type IngressReconciler struct {
	certSync
	// Options are the annotation settings (cert-manager compatibility,
	// default issuer).
	Options ingress.Options
}

// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch

// Reconcile makes the Ingress's generated Certificates match its spec.tls
// and annotations; an Ingress that is gone or asks for no issuer has none.
func (r *IngressReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	src := ingress.Source{Kind: ingress.KindIngress, Namespace: req.Namespace, Name: req.Name}
	var ing networkingv1.Ingress
	if err := r.Client.Get(ctx, req.NamespacedName, &ing); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
		return result(r.sync(ctx, src, nil, nil))
	}
	ing.SetGroupVersionKind(networkingv1.SchemeGroupVersion.WithKind("Ingress"))
	if !ing.DeletionTimestamp.IsZero() {
		return result(r.sync(ctx, src, &ing, nil))
	}
	issuer, ok, err := ingress.IssuerFor(ing.Annotations, r.Options)
	if err != nil {
		r.Events.Eventf(&ing, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBadAnnotation, "Reconcile", "%v", err)
		return ctrl.Result{}, nil
	}
	if !ok {
		return result(r.sync(ctx, src, &ing, nil))
	}
	want, err := ingress.IngressCertificates(&ing, issuer, r.Options)
	if err != nil {
		r.Events.Eventf(&ing, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBadAnnotation, "Reconcile", "%v", err)
		return ctrl.Result{}, nil
	}
	if r.Options.CertManagerAnnotations {
		if unused := ingress.UnsupportedCertManagerAnnotations(ing.Annotations); len(unused) > 0 {
			r.Events.Eventf(&ing, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonUnsupportedAnnotation, "Reconcile",
				"edgecert does not apply %s", strings.Join(unused, "; "))
		}
	}
	return result(r.sync(ctx, src, &ing, want))
}
