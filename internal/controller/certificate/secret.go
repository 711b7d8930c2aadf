package certificate

import (
	"context"
	"crypto"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/pki"
)

// foreignSecretRecheck is how often a Certificate blocked by someone else's
// Secret looks again: that Secret is not cached, so its deletion sends no
// event.
const foreignSecretRecheck = time.Minute

// readSecret reads the Certificate's Secret from the Secret cache, which
// knows every Secret edgecert labelled (and keeps the data of those it
// wrote). One that edgecert did not write for this Certificate, by UID,
// stalls the pass (SecretNotOwned). A Secret not in the cache is missing
// or someone else's: checkNoForeignSecret asks the API server before
// anything is ordered or written.
func (r *Reconciler) readSecret(ctx context.Context, s *scope) error {
	var secret corev1.Secret
	err := r.Secrets.Cached.Get(ctx, types.NamespacedName{Namespace: s.cert.Namespace, Name: s.cert.Spec.SecretName}, &secret)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	owned, err := r.claimSecret(ctx, s, &secret)
	if err != nil || !owned {
		return err
	}
	s.useSecret(&secret)
	return nil
}

// useSecret makes secret the Certificate's current Secret, and its key
// pair the current certificate when it holds a valid one.
func (s *scope) useSecret(secret *corev1.Secret) {
	s.secret = secret
	kp, err := pki.ParseKeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		s.facts.secretProblem = fmt.Sprintf("Secret %q does not hold a valid key pair: %v", s.cert.Spec.SecretName, err)
		return
	}
	s.current = kp
}

// checkNoForeignSecret asks the API server, once per pass, whether a Secret
// of the Certificate's secretName exists that edgecert did not write for
// it: edgecert never overwrites such a Secret. Reports false and stalls the
// pass when there is one.
func (r *Reconciler) checkNoForeignSecret(ctx context.Context, s *scope) (bool, error) {
	if s.secret != nil || s.foreignChecked {
		return true, nil
	}
	secret, err := r.Secrets.Get(ctx, types.NamespacedName{Namespace: s.cert.Namespace, Name: s.cert.Spec.SecretName})
	if err != nil {
		return false, err
	}
	if secret != nil {
		owned, err := r.claimSecret(ctx, s, secret)
		if err != nil || !owned {
			return false, err
		}
		s.uncachedSecret = secret
	}
	s.foreignChecked = true
	return true, nil
}

// decideFromAPI decides again from the Secret the API server has, when
// the pass decided to issue without it (the cache had not seen it: a
// Secret just adopted from cert-manager carries edgecert's labels only
// from now on). A valid Secret then stops the pass before any order.
func (r *Reconciler) decideFromAPI(ctx context.Context, s *scope) error {
	if s.secret != nil || s.uncachedSecret == nil {
		return nil
	}
	s.useSecret(s.uncachedSecret)
	return r.decide(ctx, s)
}

func (r *Reconciler) blockOnForeignSecret(s *scope) {
	r.blockOnSecret(s, edgecertv1alpha1.ReasonSecretNotOwned, fmt.Sprintf("Secret %q exists and edgecert did not create it for this Certificate; delete it or choose another secretName", s.cert.Spec.SecretName), true)
}

// blockOnSecret stops the pass on a Secret edgecert may not write, and
// looks again in foreignSecretRecheck.
func (r *Reconciler) blockOnSecret(s *scope, reason, message string, stalled bool) {
	s.facts.block(reason, message, stalled)
	s.requeue(foreignSecretRecheck)
	s.stop()
}

// ownedBy reports whether edgecert wrote secret for this Certificate: the
// Secret names it, by UID, in kube.OwnerAnnotation (or its controller
// reference). The labels are not looked at: anyone who can write the
// Secret can set them.
func ownedBy(secret *corev1.Secret, cert *edgecertv1alpha1.Certificate) bool {
	return kube.OwnedBy(secret, certificateKind, cert)
}

// certificateKind is the kind recorded in the owner annotation.
const certificateKind = "Certificate"

// writtenByOlderEdgecert reports whether secret is the one an edgecert
// older than the owner annotation wrote for cert: labelled for it, with no
// owner recorded, holding the certificate cert's status says was issued
// (its notAfter) for cert's hosts. The labels alone would let anyone claim
// a Secret; the certificate, which the CA signed and edgecert recorded,
// is the proof.
func writtenByOlderEdgecert(secret *corev1.Secret, cert *edgecertv1alpha1.Certificate) bool {
	if !kube.IsLabelled(secret) || secret.Labels[CertificateNameLabel] != cert.Name || secret.Annotations[kube.OwnerAnnotation] != "" ||
		cert.Status.NotAfter == nil || cert.Status.Revision == 0 {
		return false
	}
	kp, err := pki.ParseKeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return false
	}
	return kp.Leaf.NotAfter.Equal(cert.Status.NotAfter.Time) && len(pki.Uncovered(kp.Leaf, cert.Spec.DNSNames)) == 0
}

// claimSecret reports whether secret is this Certificate's, and blocks
// the pass when it is not. A Secret an older edgecert wrote for it
// (writtenByOlderEdgecert) is adopted: the owner annotation is added, so
// an upgrade neither orphans nor re-issues it. A Secret cert-manager
// issued is adopted as adoptCertManagerSecret decides.
func (r *Reconciler) claimSecret(ctx context.Context, s *scope, secret *corev1.Secret) (bool, error) {
	cert := s.cert
	if ownedBy(secret, cert) {
		return true, nil
	}
	if secret.Annotations[certManagerCertificateAnnotation] != "" {
		return r.adoptCertManagerSecret(ctx, s, secret)
	}
	if !writtenByOlderEdgecert(secret, cert) {
		r.blockOnForeignSecret(s)
		return false, nil
	}
	patch := client.MergeFromWithOptions(secret.DeepCopy(), client.MergeFromWithOptimisticLock{})
	secret.Annotations = kube.SetOwner(secret.Annotations, certificateKind, cert)
	if err := r.Client.Patch(ctx, secret, patch, client.FieldOwner(kube.FieldManager)); err != nil {
		if apierrors.IsConflict(err) {
			return false, kube.ErrConflict
		}
		return false, fmt.Errorf("adopt Secret %s written by an older edgecert: %w", secret.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("Adopted the Secret an older edgecert wrote", "secret", klog.KObj(secret))
	return true, nil
}

// applySecret writes the Secret whole, in one server-side apply: a
// consumer never sees a key without its chain. A Secret edgecert wrote
// before (in the cache) is applied with force, it is ours; otherwise the
// apply does not force, and the API server refuses it if a Secret of that
// name appeared meanwhile with fields someone else set (every Secret of
// another has: its type, and a TLS Secret's tls.crt and tls.key). Only
// then is the API server asked whose it is (SecretNotOwned).
func (r *Reconciler) applySecret(ctx context.Context, s *scope, chain, keyPEM []byte) error {
	cert, order := s.cert, s.cert.Status.Order
	labels := map[string]string{}
	annotations := map[string]string{}
	if t := cert.Spec.SecretTemplate; t != nil {
		maps.Copy(labels, t.Labels)
		maps.Copy(annotations, t.Annotations)
	}
	labels[kube.ManagedByLabel] = kube.ManagedByValue
	labels[CertificateNameLabel] = cert.Name
	annotations[kube.OwnerAnnotation] = kube.OwnerFor(certificateKind, cert).String()
	annotations[IssuerNameAnnotation] = cert.Spec.IssuerRef.Name
	annotations[IssuerKindAnnotation] = s.iss.kind
	annotations[DNSNamesAnnotation] = strings.Join(order.DNSNames, ",")
	annotations[OrderURLAnnotation] = order.URL
	secret := corev1ac.Secret(cert.Spec.SecretName, cert.Namespace).
		WithLabels(labels).WithAnnotations(annotations).
		WithType(corev1.SecretTypeTLS).
		WithData(map[string][]byte{corev1.TLSCertKey: chain, corev1.TLSPrivateKeyKey: keyPEM})
	if cert.Spec.SecretOwnerReference {
		secret.WithOwnerReferences(ownerRefApply(cert))
	}
	opts := []client.ApplyOption{client.FieldOwner(kube.FieldManager)}
	if s.secret != nil {
		opts = append(opts, client.ForceOwnership)
	}
	err := r.Client.Apply(ctx, secret, opts...)
	if err != nil && s.secret == nil && (apierrors.IsConflict(err) || apierrors.IsInvalid(err)) {
		ok, ferr := r.checkNoForeignSecret(ctx, s)
		if ferr != nil || !ok {
			return ferr
		}
		// This Certificate's own, not yet in the cache.
		err = r.Client.Apply(ctx, secret, client.FieldOwner(kube.FieldManager), client.ForceOwnership)
	}
	if err != nil {
		return fmt.Errorf("apply Secret %s: %w", cert.Spec.SecretName, err)
	}
	r.stored.Store(order.URL, struct{}{})
	return nil
}

// isStored reports whether the Secret already holds the certificate of the
// order in flight.
func (r *Reconciler) isStored(s *scope) bool {
	url := s.cert.Status.Order.URL
	if _, ok := r.stored.Load(url); ok {
		return true
	}
	return s.secret != nil && s.secret.Annotations[OrderURLAnnotation] == url && s.current != nil
}

// keyContext binds a sealed order key to its Certificate and order.
func keyContext(cert *edgecertv1alpha1.Certificate) string {
	return string(cert.UID) + "\n" + cert.Status.Order.URL
}

// newOrderKey makes the key for the order in flight (or keeps the Secret's
// key under rotationPolicy Never) and records it in status.order: sealed
// with the account key, so that a restarted controller finalizes with it.
func (r *Reconciler) newOrderKey(s *scope) error {
	spec := issuance.KeySpec(s.cert.Spec.PrivateKey)
	order := s.cert.Status.Order
	if s.current != nil && !issuance.RotateKey(s.cert.Spec.PrivateKey) && pki.KeyMatchesSpec(s.current.Key, spec) {
		id, err := pki.PublicKeyID(s.current.Key.Public())
		order.KeyHash, order.EncryptedKey = id, ""
		return err
	}
	key, err := pki.GenerateKey(spec)
	if err != nil {
		return err
	}
	sealed, err := pki.SealKey(key, s.iss.account.Key, keyContext(s.cert))
	if err != nil {
		return err
	}
	id, err := pki.PublicKeyID(key.Public())
	if err != nil {
		return err
	}
	order.KeyHash, order.EncryptedKey = id, sealed
	return nil
}

// orderKey finds the key the order in flight is to be finalized with: the
// sealed key in status, or (rotationPolicy Never) the Secret's, or the key
// Secret of an order an older edgecert started. Nil when none matches the
// order's key hash.
func (r *Reconciler) orderKey(ctx context.Context, s *scope) (crypto.Signer, error) {
	order := s.cert.Status.Order
	var candidates []crypto.Signer
	if order.EncryptedKey != "" {
		if key, err := pki.OpenKey(order.EncryptedKey, s.iss.account.Key, keyContext(s.cert)); err == nil {
			candidates = append(candidates, key)
		}
	}
	if s.current != nil {
		candidates = append(candidates, s.current.Key)
	}
	if legacy, err := r.legacyKeySecret(ctx, s.cert); err != nil {
		return nil, err
	} else if legacy != nil {
		if key, err := pki.ParseKey(legacy.Data[corev1.TLSPrivateKeyKey]); err == nil {
			candidates = append(candidates, key)
		}
	}
	for _, key := range candidates {
		if id, err := pki.PublicKeyID(key.Public()); err == nil && id == order.KeyHash {
			return key, nil
		}
	}
	return nil, nil
}

// legacyKeySecret is the key Secret of an older edgecert, from the cache.
func (r *Reconciler) legacyKeySecret(ctx context.Context, cert *edgecertv1alpha1.Certificate) (*corev1.Secret, error) {
	var secret corev1.Secret
	err := r.Secrets.Cached.Get(ctx, types.NamespacedName{Namespace: cert.Namespace, Name: cert.Name + legacyKeySecretSuffix}, &secret)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	// Only an older edgecert wrote these, and its label is all they carry:
	// its key is used only when it is the order's (orderKey), and the
	// Secret deleted only when it held the key now stored.
	if err != nil || !kube.IsLabelled(&secret) || secret.Labels[CertificateNameLabel] != cert.Name {
		return nil, err
	}
	return &secret, nil
}

// removeLegacyKeySecret deletes an older edgecert's key Secret once the
// certificate it served is stored with its key, stored.
func (r *Reconciler) removeLegacyKeySecret(ctx context.Context, cert *edgecertv1alpha1.Certificate, stored crypto.Signer) error {
	secret, err := r.legacyKeySecret(ctx, cert)
	if err != nil || secret == nil {
		return err
	}
	if !sameKey(secret.Data[corev1.TLSPrivateKeyKey], stored) {
		return nil
	}
	uid := secret.UID
	return client.IgnoreNotFound(r.Client.Delete(ctx, secret, client.Preconditions{UID: &uid}))
}

// sameKey reports whether keyPEM holds the private key of stored; an
// unreadable key is not the same.
func sameKey(keyPEM []byte, stored crypto.Signer) bool {
	key, err := pki.ParseKey(keyPEM)
	if err != nil {
		return false
	}
	a, err1 := pki.PublicKeyID(key.Public())
	b, err2 := pki.PublicKeyID(stored.Public())
	return err1 == nil && err2 == nil && a == b
}

// ownerRef makes the Certificate the controller of what edgecert makes for
// it (its Secret when secretOwnerReference is set, its HTTP-01 routes), so
// the garbage collector deletes them with it.
func ownerRef(cert *edgecertv1alpha1.Certificate) metav1.OwnerReference {
	return *metav1.NewControllerRef(cert, edgecertv1alpha1.GroupVersion.WithKind("Certificate"))
}

// ownerRefApply is ownerRef for an apply configuration.
func ownerRefApply(cert *edgecertv1alpha1.Certificate) *metav1ac.OwnerReferenceApplyConfiguration {
	o := ownerRef(cert)
	return metav1ac.OwnerReference().WithAPIVersion(o.APIVersion).WithKind(o.Kind).WithName(o.Name).WithUID(o.UID).
		WithController(*o.Controller).WithBlockOwnerDeletion(*o.BlockOwnerDeletion)
}
