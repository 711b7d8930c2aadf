// Package shim holds the thin reconcilers that turn annotated Istio
// Gateways, Gateway API Gateways and Ingresses into Certificates. What a
// source wants is decided in internal/ingress; here it is read, applied, and
// cleaned up.
package shim

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/kube"
)

// certSync creates, updates and deletes the Certificates generated for
// sources, and tells the source how they fare.
type certSync struct {
	Client client.Client
	Events events.EventRecorder
	// SecretOwnerReference sets spec.secretOwnerReference on every
	// generated Certificate.
	SecretOwnerReference bool
	// reported remembers, per generated Certificate, the Ready state last
	// told to its source, so each change makes one event. Losing it on
	// restart repeats the last event once.
	reported *sync.Map
}

// sync makes the Certificates generated for src exactly desired. obj is
// the source, for events and (when in the same namespace) the owner
// reference; nil when it is gone. Certificates of desired names that
// belong to something else are reported and left alone.
func (s *certSync) sync(ctx context.Context, src ingress.Source, obj client.Object, desired []ingress.Certificate) error {
	log := ctrl.LoggerFrom(ctx)
	var existing edgecertv1alpha1.CertificateList
	if err := s.Client.List(ctx, &existing, client.MatchingLabels(src.Labels())); err != nil {
		return fmt.Errorf("list Certificates: %w", err)
	}
	want := map[types.NamespacedName]bool{}
	for _, d := range desired {
		key := types.NamespacedName{Namespace: d.Namespace, Name: d.Name}
		want[key] = true
		if err := s.apply(ctx, src, obj, d); err != nil {
			return err
		}
	}
	for i := range existing.Items {
		cert := &existing.Items[i]
		if want[client.ObjectKeyFromObject(cert)] || cert.Annotations[ingress.SourceAnnotation] != src.String() {
			continue
		}
		if err := s.Client.Delete(ctx, cert, client.Preconditions{UID: &cert.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete Certificate %s/%s: %w", cert.Namespace, cert.Name, err)
		}
		s.reported.Delete(client.ObjectKeyFromObject(cert).String())
		log.Info("Deleted generated Certificate", "certificate", client.ObjectKeyFromObject(cert), "source", src.String())
		if obj != nil {
			s.Events.Eventf(obj, cert, corev1.EventTypeNormal, edgecertv1alpha1.ReasonCertificateDeleted, "Reconcile", "Deleted Certificate %s/%s; its Secret stays", cert.Namespace, cert.Name)
		}
	}
	return nil
}

// apply creates or updates one generated Certificate.
func (s *certSync) apply(ctx context.Context, src ingress.Source, obj client.Object, d ingress.Certificate) error {
	d.Spec.SecretOwnerReference = s.SecretOwnerReference
	spec := normalize(d.Spec)
	var cert edgecertv1alpha1.Certificate
	err := s.Client.Get(ctx, types.NamespacedName{Namespace: d.Namespace, Name: d.Name}, &cert)
	if apierrors.IsNotFound(err) {
		cert = edgecertv1alpha1.Certificate{
			ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: d.Name, Labels: certLabels(src), Annotations: map[string]string{ingress.SourceAnnotation: src.String()},
				Finalizers: []string{edgecertv1alpha1.CertificateFinalizer}},
			Spec: spec,
		}
		if obj.GetNamespace() == d.Namespace {
			// The source controls a Certificate in its own namespace, so the
			// garbage collector deletes it with the source even when
			// edgecert is not running.
			cert.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(obj, obj.GetObjectKind().GroupVersionKind())}
		}
		if err := s.Client.Create(ctx, &cert, client.FieldOwner(kube.FieldManager)); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return kube.ErrConflict
			}
			return fmt.Errorf("create Certificate %s/%s: %w", d.Namespace, d.Name, err)
		}
		s.Events.Eventf(obj, &cert, corev1.EventTypeNormal, edgecertv1alpha1.ReasonCertificateCreated, "Reconcile", "Created Certificate %s/%s for %s", d.Namespace, d.Name, strings.Join(spec.DNSNames, ", "))
		return nil
	}
	if err != nil {
		return fmt.Errorf("get Certificate %s/%s: %w", d.Namespace, d.Name, err)
	}
	if cert.Annotations[ingress.SourceAnnotation] != src.String() {
		owner := cert.Annotations[ingress.SourceAnnotation]
		if owner == "" {
			owner = "someone else"
		}
		s.Events.Eventf(obj, &cert, corev1.EventTypeWarning, edgecertv1alpha1.ReasonCertificateConflict, "Reconcile", "Certificate %s/%s for Secret %s belongs to %s; left alone", d.Namespace, d.Name, d.Spec.SecretName, owner)
		return nil
	}
	if apiequality.Semantic.DeepEqual(normalize(cert.Spec), spec) {
		s.report(obj, &cert)
		return nil
	}
	base := cert.DeepCopy()
	cert.Spec = spec
	if err := s.Client.Patch(ctx, &cert, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}), client.FieldOwner(kube.FieldManager)); err != nil {
		if apierrors.IsConflict(err) {
			return kube.ErrConflict
		}
		return fmt.Errorf("update Certificate %s/%s: %w", d.Namespace, d.Name, err)
	}
	s.Events.Eventf(obj, &cert, corev1.EventTypeNormal, edgecertv1alpha1.ReasonCertificateUpdated, "Reconcile", "Updated Certificate %s/%s for %s", d.Namespace, d.Name, strings.Join(spec.DNSNames, ", "))
	return nil
}

// report tells the source, with one event per change, when its generated
// Certificate becomes Ready or stops being Ready for its current spec, so
// "kubectl events" on the source shows how issuance went.
func (s *certSync) report(obj client.Object, cert *edgecertv1alpha1.Certificate) {
	cond := meta.FindStatusCondition(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition)
	if cond == nil || cond.ObservedGeneration != cert.Generation {
		return
	}
	if cond.Status == metav1.ConditionFalse && cond.Reason == edgecertv1alpha1.ReasonDoesNotExist {
		// Being issued for the first time: nothing to say yet.
		return
	}
	state := string(cert.UID) + " " + string(cond.Status) + " " + cond.Reason + " " + cond.Message
	key := client.ObjectKeyFromObject(cert).String()
	if last, ok := s.reported.Load(key); ok && last == state {
		return
	}
	s.reported.Store(key, state)
	if cond.Status == metav1.ConditionTrue {
		expires := ""
		if cert.Status.NotAfter != nil {
			expires = ", valid until " + cert.Status.NotAfter.UTC().Format(time.RFC3339)
		}
		s.Events.Eventf(obj, cert, corev1.EventTypeNormal, edgecertv1alpha1.ReasonCertificateIssued, "Reconcile", "Certificate %s/%s is Ready: Secret %s holds a certificate for %s%s",
			cert.Namespace, cert.Name, cert.Spec.SecretName, strings.Join(cert.Spec.DNSNames, ", "), expires)
		return
	}
	s.Events.Eventf(obj, cert, corev1.EventTypeWarning, edgecertv1alpha1.ReasonCertificateNotReady, "Reconcile", "Certificate %s/%s is not Ready (%s): %s", cert.Namespace, cert.Name, cond.Reason, cond.Message)
}

// normalize applies the API server's defaults so that a desired spec
// compares equal to the stored one. Fields a shim never sets (secret
// template) are cleared: a person may not set them on a generated
// Certificate either, the shim owns it.
func normalize(spec edgecertv1alpha1.CertificateSpec) edgecertv1alpha1.CertificateSpec {
	out := edgecertv1alpha1.CertificateSpec{DNSNames: spec.DNSNames, SecretName: spec.SecretName, IssuerRef: spec.IssuerRef, RenewBefore: spec.RenewBefore, SecretOwnerReference: spec.SecretOwnerReference}
	out.IssuerRef.Kind = out.IssuerRef.KindOrDefault()
	if spec.PrivateKey != nil {
		k := *spec.PrivateKey
		if k.Algorithm == "" {
			k.Algorithm = "ECDSA"
		}
		if k.RotationPolicy == "" {
			k.RotationPolicy = "Always"
		}
		out.PrivateKey = &k
	}
	return out
}

// certLabels mark a Certificate as edgecert's, generated for src.
func certLabels(src ingress.Source) map[string]string {
	l := src.Labels()
	l[kube.ManagedByLabel] = kube.ManagedByValue
	return l
}

// result turns a lost write race into a quiet, early retry.
func result(err error) (reconcile.Result, error) {
	if kube.IsConflict(err) {
		return kube.ConflictRequeue(), nil
	}
	return reconcile.Result{}, err
}

// sourceOf maps a generated Certificate back to its source of kind, from
// its annotation.
func sourceOf(kind string) func(context.Context, client.Object) []reconcile.Request {
	return func(_ context.Context, o client.Object) []reconcile.Request {
		src, ok := ingress.ParseSource(o.GetAnnotations()[ingress.SourceAnnotation])
		if !ok || src.Kind != kind || o.GetLabels()[ingress.SourceKindLabel] != kind {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: src.Namespace, Name: src.Name}}}
	}
}
