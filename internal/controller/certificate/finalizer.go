package certificate

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/metrics"
)

// finalize removes the challenge records and routes of a Certificate
// deleted mid-order, then lets it go. Removal is retried with backoff for
// CleanUpTimeout after the deletion; past that (the issuer is gone, the DNS
// provider refuses), the Certificate goes anyway and a CleanUpFailed event
// names what is left, so that a deletion never hangs.
func (r *Reconciler) finalize(ctx context.Context, cert *edgecertv1alpha1.Certificate) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(cert, edgecertv1alpha1.CertificateFinalizer) {
		return ctrl.Result{}, nil
	}
	if cert.Status.Order != nil {
		s := &scope{cert: cert, now: r.Now()}
		iss, err := r.issuer(ctx, cert)
		if err == nil {
			s.iss = iss
			err = r.cleanUpOrder(ctx, s)
		}
		if err != nil {
			if s.now.Sub(cert.DeletionTimestamp.Time) < withDefault(r.CleanUpTimeout, DefaultCleanUpTimeout) {
				return ctrl.Result{}, fmt.Errorf("clean up before deletion: %w", err)
			}
			r.Events.Eventf(cert, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonCleanUpFailed, "Delete",
				"Deleted mid-order without removing every challenge record or route: %s", err.Error())
		}
	}
	base := cert.DeepCopy()
	controllerutil.RemoveFinalizer(cert, edgecertv1alpha1.CertificateFinalizer)
	if err := r.Client.Patch(ctx, cert, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}), client.FieldOwner(kube.FieldManager)); err != nil {
		if kube.IsConflict(err) {
			return kube.ConflictRequeue(), nil
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	r.ariPolls.Delete(cert.UID)
	r.written.Delete(cert.UID)
	metrics.Forget(cert.Namespace, cert.Name)
	return ctrl.Result{}, nil
}
