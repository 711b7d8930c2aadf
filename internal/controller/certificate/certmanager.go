package certificate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/pki"
)

// Moving from cert-manager: a Secret cert-manager issued is taken over,
// without a new order, once its cert-manager Certificate is gone.
const (
	// certManagerCertificateAnnotation is how cert-manager names, on a
	// Secret it issued, the cert-manager Certificate it belongs to.
	certManagerCertificateAnnotation = "cert-manager.io/certificate-name"
	// AdoptAnnotation, "true" on the Secret or on the edgecert
	// Certificate, adopts a cert-manager Secret even while its
	// cert-manager Certificate exists (stop cert-manager from writing it
	// first: scale it down, or delete the Certificate with
	// --cascade=orphan).
	AdoptAnnotation = "edgecert.dev/adopt"
)

// certManagerCertificateGVK is cert-manager's Certificate.
var certManagerCertificateGVK = schema.GroupVersionKind{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"}

// adoptCertManagerSecret decides about a Secret cert-manager issued. While
// its cert-manager Certificate exists (and nobody asked to adopt), edgecert
// waits and never writes it (ManagedByCertManager). A Secret that does not
// serve this Certificate as it is (hosts, key, validity) is reported and
// left alone (SecretNotAdoptable). Otherwise edgecert takes it over as it
// is: owner, labels and issuer annotations are added, the data stays, and
// it is renewed at the usual time.
func (r *Reconciler) adoptCertManagerSecret(ctx context.Context, s *scope, secret *corev1.Secret) (bool, error) {
	cert := s.cert
	cmName := secret.Annotations[certManagerCertificateAnnotation]
	if secret.Annotations[AdoptAnnotation] != "true" && cert.Annotations[AdoptAnnotation] != "true" {
		exists, err := r.certManagerCertificateExists(ctx, types.NamespacedName{Namespace: secret.Namespace, Name: cmName})
		if err != nil {
			return false, err
		}
		if exists {
			r.blockOnSecret(s, edgecertv1alpha1.ReasonManagedByCertManager, fmt.Sprintf(
				"Secret %q is managed by cert-manager Certificate %s/%s: edgecert takes it over once that Certificate is deleted (or the Secret is annotated %s: \"true\")",
				secret.Name, secret.Namespace, cmName, AdoptAnnotation), false)
			return false, nil
		}
	}
	if problem := notAdoptable(secret, cert, s.now); problem != "" {
		r.blockOnSecret(s, edgecertv1alpha1.ReasonSecretNotAdoptable, fmt.Sprintf(
			"Secret %q, issued by cert-manager (Certificate %s), %s: it is not adopted and not overwritten; delete it to issue anew, or change this Certificate",
			secret.Name, cmName, problem), true)
		return false, nil
	}
	patch := client.MergeFromWithOptions(secret.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if secret.Labels == nil {
		secret.Labels = map[string]string{}
	}
	secret.Labels[kube.ManagedByLabel] = kube.ManagedByValue
	secret.Labels[CertificateNameLabel] = cert.Name
	secret.Annotations = kube.SetOwner(secret.Annotations, certificateKind, cert)
	secret.Annotations[IssuerNameAnnotation] = cert.Spec.IssuerRef.Name
	secret.Annotations[IssuerKindAnnotation] = cert.Spec.IssuerRef.KindOrDefault()
	secret.Annotations[DNSNamesAnnotation] = strings.Join(cert.Spec.DNSNames, ",")
	if err := r.Client.Patch(ctx, secret, patch, client.FieldOwner(kube.FieldManager)); err != nil {
		if apierrors.IsConflict(err) {
			return false, kube.ErrConflict
		}
		return false, fmt.Errorf("adopt Secret %s issued by cert-manager: %w", secret.Name, err)
	}
	r.Events.Eventf(cert, secret, corev1.EventTypeNormal, edgecertv1alpha1.ReasonAdoptedFromCertManager, "Reconcile",
		"Took over Secret %s, issued by cert-manager for Certificate %s, without a new order", secret.Name, cmName)
	ctrl.LoggerFrom(ctx).Info("Adopted a Secret cert-manager issued", "secret", klog.KObj(secret), "certManagerCertificate", cmName)
	return true, nil
}

// certManagerCertificateExists asks the API server whether cert-manager's
// Certificate key exists; without cert-manager's CRDs it does not.
func (r *Reconciler) certManagerCertificateExists(ctx context.Context, key types.NamespacedName) (bool, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(certManagerCertificateGVK)
	err := r.APIReader.Get(ctx, key, u)
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return false, nil
	}
	return false, fmt.Errorf("get cert-manager Certificate %s: %w", key, err)
}

// notAdoptable says why secret cannot serve cert as it is, or "" when it
// can: a valid key pair, exactly the requested hosts, the requested key,
// not expired.
func notAdoptable(secret *corev1.Secret, cert *edgecertv1alpha1.Certificate, now time.Time) string {
	kp, err := pki.ParseKeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return "does not hold a valid key pair (" + err.Error() + ")"
	}
	if want, have := issuance.NormalizeHosts(cert.Spec.DNSNames), pki.Hosts(kp.Leaf); !slices.Equal(want, have) {
		return fmt.Sprintf("is for %s, not %s", strings.Join(have, ", "), strings.Join(want, ", "))
	}
	if spec := issuance.KeySpec(cert.Spec.PrivateKey); !pki.KeyMatchesSpec(kp.Key, spec) {
		norm, _ := spec.Normalize()
		return fmt.Sprintf("has a key that is not %s %d", norm.Algorithm, norm.Size)
	}
	if !now.Before(kp.Leaf.NotAfter) {
		return "has expired"
	}
	return ""
}

// deletedOnly passes deletions.
var deletedOnly = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	UpdateFunc:  func(event.UpdateEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// waitingOnCertManager maps a cert-manager Certificate that went to the
// Certificates of its namespace waiting for cert-manager to let go.
func (r *Reconciler) waitingOnCertManager(ctx context.Context, o client.Object) []reconcile.Request {
	var list edgecertv1alpha1.CertificateList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		c := &list.Items[i]
		if ready := meta.FindStatusCondition(c.Status.Conditions, edgecertv1alpha1.ReadyCondition); ready != nil && ready.Reason == edgecertv1alpha1.ReasonManagedByCertManager {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Name}})
		}
	}
	return reqs
}
