package gatewayservice

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/pki"
)

// Labels and annotations on the Secret copies edgecert writes into the
// gateway workload namespace.
const (
	// GatewayServiceNamespaceLabel and GatewayServiceNameLabel name the
	// GatewayService a copy belongs to.
	GatewayServiceNamespaceLabel = "edgecert.dev/gatewayservice-namespace"
	GatewayServiceNameLabel      = "edgecert.dev/gatewayservice-name"
	// SourceAnnotation says which Secret ("namespace/name") was copied.
	SourceAnnotation = "edgecert.dev/source-secret"
	// caKey is where Istio reads the client CA of a MUTUAL server.
	caKey = "ca.crt"
)

// secretCopy is what goes into the workload namespace.
type secretCopy struct {
	namespace, name, source string
	data                    map[string][]byte
}

// prepareTLS finds the server certificate: a checked tenant Secret
// (secretRef), or the Secret of a Certificate edgecert requests
// (issuerRef), and the client CA for MUTUAL. It renders the desired server
// once everything is there. Problems keep the current server (its copy
// still holds the last good certificate): SecretNotFound, SecretInvalid
// and CertificateNotOwned set Stalled; CertificateNotReady sets
// Reconciling.
func (r *Reconciler) prepareTLS(ctx context.Context, s *scope) (bool, error) {
	t := s.gs.Spec.TLS
	if t == nil || t.Mode == "PASSTHROUGH" || t.SecretPath != nil {
		s.desired = ptr(gateway.Render(s.gs.Namespace, s.gs.Name, s.gs.Spec, ""))
		return false, nil
	}
	var (
		source *corev1.Secret
		err    error
	)
	switch {
	case t.SecretRef != nil:
		source, err = r.tenantSecret(ctx, s, t.SecretRef.Name)
	case t.IssuerRef != nil:
		source, err = r.issuedSecret(ctx, s)
	}
	if err != nil || source == nil {
		s.keep = true
		return true, err
	}
	data := map[string][]byte{corev1.TLSCertKey: source.Data[corev1.TLSCertKey], corev1.TLSPrivateKeyKey: source.Data[corev1.TLSPrivateKeyKey]}
	if t.Mode == "MUTUAL" {
		ca, err := r.clientCA(ctx, s, source)
		if err != nil || ca == nil {
			s.keep = true
			return true, err
		}
		data[caKey] = ca
	}
	ws := s.target.WorkloadNamespace
	if ws == s.gs.Namespace && (t.Mode != "MUTUAL" || bytes.Equal(source.Data[caKey], data[caKey])) {
		// The gateway pods read the tenant's namespace already.
		s.credentialName = source.Name
	} else {
		s.credentialName = gateway.CredentialName(s.gs.Namespace, s.gs.Name)
		s.copySecret = &secretCopy{namespace: ws, name: s.credentialName, source: s.gs.Namespace + "/" + source.Name, data: data}
	}
	s.desired = ptr(gateway.Render(s.gs.Namespace, s.gs.Name, s.gs.Spec, s.credentialName))
	return false, nil
}

// tenantSecret reads and checks the secretRef Secret: it must exist, hold
// a key that matches its certificate, and cover every host.
func (r *Reconciler) tenantSecret(ctx context.Context, s *scope, name string) (*corev1.Secret, error) {
	secret, err := r.Secrets.Get(ctx, types.NamespacedName{Namespace: s.gs.Namespace, Name: name})
	if err != nil {
		return nil, fmt.Errorf("get Secret %s: %w", name, err)
	}
	if secret == nil {
		s.facts.fail(edgecertv1alpha1.ReasonSecretNotFound, fmt.Sprintf("Secret %s/%s does not exist", s.gs.Namespace, name))
		return nil, nil
	}
	if problem := checkKeyPair(secret, s.gs.Spec.Hosts); problem != "" {
		s.facts.fail(edgecertv1alpha1.ReasonSecretInvalid, fmt.Sprintf("Secret %s/%s %s", s.gs.Namespace, name, problem))
		return nil, nil
	}
	return secret, nil
}

// checkKeyPair returns "" when the Secret can be served for hosts, or what
// is wrong with it. The catch-all host "*" asks for no name: a TLS server
// on every SNI serves whatever its certificate covers.
func checkKeyPair(secret *corev1.Secret, hosts []string) string {
	kp, err := pki.ParseKeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return "does not hold a valid key pair: " + err.Error()
	}
	named := slices.DeleteFunc(slices.Clone(hosts), func(h string) bool { return h == gateway.CatchAll })
	if missing := pki.Uncovered(kp.Leaf, named); len(missing) > 0 {
		return fmt.Sprintf("has a certificate for %s that does not cover %s", strings.Join(pki.Hosts(kp.Leaf), ", "), strings.Join(missing, ", "))
	}
	return ""
}

// issuedSecret makes sure the Certificate for the hosts exists and returns
// its Secret once issued.
func (r *Reconciler) issuedSecret(ctx context.Context, s *scope) (*corev1.Secret, error) {
	name := gateway.CertificateName(s.gs.Name)
	s.certificateName = name
	ref := *s.gs.Spec.TLS.IssuerRef
	ref.Kind = ref.KindOrDefault()
	want := edgecertv1alpha1.CertificateSpec{DNSNames: slices.Clone(s.gs.Spec.Hosts), SecretName: name, IssuerRef: ref}
	var cert edgecertv1alpha1.Certificate
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: s.gs.Namespace, Name: name}, &cert)
	switch {
	case apierrors.IsNotFound(err):
		cert = edgecertv1alpha1.Certificate{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.gs.Namespace, Labels: map[string]string{kube.ManagedByLabel: kube.ManagedByValue, GatewayServiceNameLabel: s.gs.Name},
				Finalizers: []string{edgecertv1alpha1.CertificateFinalizer}},
			Spec: want,
		}
		// The GatewayService controls it, so the garbage collector
		// deletes it too.
		cert.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(s.gs, edgecertv1alpha1.GroupVersion.WithKind("GatewayService"))}
		if err := r.Client.Create(ctx, &cert, client.FieldOwner(kube.FieldManager)); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create Certificate %s: %w", name, err)
		}
		r.Events.Eventf(s.gs, &cert, corev1.EventTypeNormal, edgecertv1alpha1.ReasonCertificateCreated, "Reconcile", "Created Certificate %s for %s", name, strings.Join(want.DNSNames, ", "))
		s.facts.wait(edgecertv1alpha1.ReasonCertificateNotReady, fmt.Sprintf("Waiting for Certificate %s to be issued", name))
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get Certificate %s: %w", name, err)
	}
	if !metav1.IsControlledBy(&cert, s.gs) {
		s.facts.fail(edgecertv1alpha1.ReasonCertificateNotOwned, fmt.Sprintf("Certificate %s/%s exists and does not belong to this GatewayService; delete or rename it", s.gs.Namespace, name))
		return nil, nil
	}
	if !equalCertSpec(cert.Spec, want) {
		cert.Spec.DNSNames, cert.Spec.SecretName, cert.Spec.IssuerRef = want.DNSNames, want.SecretName, want.IssuerRef
		if err := r.Client.Update(ctx, &cert, client.FieldOwner(kube.FieldManager)); err != nil {
			if apierrors.IsConflict(err) {
				return nil, kube.ErrConflict
			}
			return nil, fmt.Errorf("update Certificate %s: %w", name, err)
		}
		s.facts.wait(edgecertv1alpha1.ReasonCertificateNotReady, fmt.Sprintf("Waiting for Certificate %s to be issued for the new hosts", name))
		return nil, nil
	}
	ready := meta.FindStatusCondition(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition)
	if ready == nil || ready.Status != metav1.ConditionTrue || ready.ObservedGeneration != cert.Generation {
		msg := fmt.Sprintf("Waiting for Certificate %s to be issued", name)
		if ready != nil && ready.Message != "" {
			msg += ": " + ready.Reason + ": " + ready.Message
		}
		s.facts.wait(edgecertv1alpha1.ReasonCertificateNotReady, msg)
		return nil, nil
	}
	secret, err := r.Secrets.Get(ctx, types.NamespacedName{Namespace: s.gs.Namespace, Name: name})
	if err != nil {
		return nil, fmt.Errorf("get Secret %s: %w", name, err)
	}
	if secret == nil || checkKeyPair(secret, s.gs.Spec.Hosts) != "" {
		s.facts.wait(edgecertv1alpha1.ReasonCertificateNotReady, fmt.Sprintf("Waiting for Certificate %s: its Secret does not hold a certificate for every host yet", name))
		return nil, nil
	}
	return secret, nil
}

func equalCertSpec(a, b edgecertv1alpha1.CertificateSpec) bool {
	return slices.Equal(a.DNSNames, b.DNSNames) && a.SecretName == b.SecretName && a.IssuerRef == b.IssuerRef
}

// clientCA returns the PEM CAs for a MUTUAL server: clientCASecretRef's
// ca.crt, or else the ca.crt of the secretRef Secret.
func (r *Reconciler) clientCA(ctx context.Context, s *scope, source *corev1.Secret) ([]byte, error) {
	where := fmt.Sprintf("Secret %s/%s", s.gs.Namespace, source.Name)
	ca := source.Data[caKey]
	if ref := s.gs.Spec.TLS.ClientCASecretRef; ref != nil {
		secret, err := r.Secrets.Get(ctx, types.NamespacedName{Namespace: s.gs.Namespace, Name: ref.Name})
		if err != nil {
			return nil, fmt.Errorf("get Secret %s: %w", ref.Name, err)
		}
		where = fmt.Sprintf("Secret %s/%s", s.gs.Namespace, ref.Name)
		if secret == nil {
			s.facts.fail(edgecertv1alpha1.ReasonSecretNotFound, where+" does not exist")
			return nil, nil
		}
		ca = secret.Data[caKey]
	}
	if len(ca) == 0 {
		s.facts.fail(edgecertv1alpha1.ReasonSecretInvalid, where+" has no ca.crt: MUTUAL needs the client CAs")
		return nil, nil
	}
	if _, err := pki.ParseCertificates(ca); err != nil {
		s.facts.fail(edgecertv1alpha1.ReasonSecretInvalid, fmt.Sprintf("%s: ca.crt: %v", where, err))
		return nil, nil
	}
	return ca, nil
}

// copyLabels name a copy's GatewayService, for people and for selection;
// ownership is its owner annotation (copyAnnotations, ownsCopy).
func copyLabels(gs *edgecertv1alpha1.GatewayService) map[string]string {
	return map[string]string{
		kube.ManagedByLabel:          kube.ManagedByValue,
		GatewayServiceNamespaceLabel: gs.Namespace,
		GatewayServiceNameLabel:      gs.Name,
	}
}

// gatewayServiceKind is the kind recorded in a copy's owner annotation.
const gatewayServiceKind = "GatewayService"

// copyAnnotations are a copy's annotations: where it was copied from, and
// the GatewayService it was written for, by UID.
func copyAnnotations(gs *edgecertv1alpha1.GatewayService, source string) map[string]string {
	return kube.SetOwner(map[string]string{SourceAnnotation: source}, gatewayServiceKind, gs)
}

// ownsCopy reports whether edgecert wrote secret for gs, by gs's UID (the
// copy lives in the workload namespace, so no owner reference can point
// at gs; the annotation does). Labels do not count.
func ownsCopy(secret metav1.Object, gs *edgecertv1alpha1.GatewayService) bool {
	return kube.OwnedBy(secret, gatewayServiceKind, gs)
}

// olderCopy reports whether secret is the copy an edgecert older than the
// owner annotation wrote for gs: labelled for gs, no owner recorded, and
// holding exactly the data edgecert would write now, which only a reader
// of gs's source Secret can produce. The next write adopts it.
func olderCopy(secret *corev1.Secret, gs *edgecertv1alpha1.GatewayService, data map[string][]byte) bool {
	return kube.IsLabelled(secret) && secret.Labels[GatewayServiceNamespaceLabel] == gs.Namespace && secret.Labels[GatewayServiceNameLabel] == gs.Name &&
		secret.Annotations[kube.OwnerAnnotation] == "" && maps.EqualFunc(secret.Data, data, bytes.Equal)
}

// writeCopy writes the Secret copy, whole, with server-side apply, when it
// differs from what is there. A Secret of that name edgecert did not write
// for this GatewayService is never overwritten (SecretNotOwned).
func (r *Reconciler) writeCopy(ctx context.Context, s *scope) error {
	c := s.copySecret
	// Copies are labelled, so the Secret cache knows every copy edgecert
	// wrote. A cache miss is tried as a create, which fails rather than
	// overwrite a Secret someone else made; only then is the Secret read
	// uncached.
	var cached corev1.Secret
	existing := &cached
	err := r.Secrets.Cached.Get(ctx, types.NamespacedName{Namespace: c.namespace, Name: c.name}, &cached)
	if apierrors.IsNotFound(err) {
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: c.name, Namespace: c.namespace, Labels: copyLabels(s.gs), Annotations: copyAnnotations(s.gs, c.source)},
			Type:       corev1.SecretTypeTLS,
			Data:       c.data,
		}
		err = r.Client.Create(ctx, secret, client.FieldOwner(kube.FieldManager))
		if err == nil {
			s.copied = &copyNote{verb: "Created", copy: c}
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create Secret %s/%s: %w", c.namespace, c.name, err)
		}
		if existing, err = r.Secrets.Get(ctx, types.NamespacedName{Namespace: c.namespace, Name: c.name}); err != nil {
			return fmt.Errorf("get Secret %s/%s: %w", c.namespace, c.name, err)
		}
	} else if err != nil {
		return fmt.Errorf("get Secret %s/%s: %w", c.namespace, c.name, err)
	}
	if existing != nil && !ownsCopy(existing, s.gs) && !olderCopy(existing, s.gs, c.data) {
		s.keep = true
		s.facts.fail(edgecertv1alpha1.ReasonSecretNotOwned, fmt.Sprintf("Secret %s/%s exists and edgecert did not create it for this GatewayService", c.namespace, c.name))
		return nil
	}
	if existing != nil && existing.Type == corev1.SecretTypeTLS && maps.EqualFunc(existing.Data, c.data, bytes.Equal) &&
		existing.Annotations[SourceAnnotation] == c.source && ownsCopy(existing, s.gs) {
		return nil
	}
	secret := corev1ac.Secret(c.name, c.namespace).WithLabels(copyLabels(s.gs)).
		WithAnnotations(copyAnnotations(s.gs, c.source)).
		WithType(corev1.SecretTypeTLS).WithData(c.data)
	if existing != nil && existing.Type != corev1.SecretTypeTLS {
		// The type is immutable: start again.
		if err := r.Client.Delete(ctx, existing); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("replace Secret %s/%s: %w", c.namespace, c.name, err)
		}
	}
	if err := r.Client.Apply(ctx, secret, client.FieldOwner(kube.FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply Secret %s/%s: %w", c.namespace, c.name, err)
	}
	verb := "Updated"
	if existing == nil {
		verb = "Created"
	}
	s.copied = &copyNote{verb: verb, copy: c}
	return nil
}

// copyNote is a Secret copy a pass wrote, to be told in the pass's server
// event, or else in a SecretCopied event of its own (recordCopy).
type copyNote struct {
	verb string
	copy *secretCopy
}

// takeCopyNote is the copy written in this pass as the end of a server
// event's message, and "" when there is none; it is then told.
func (s *scope) takeCopyNote() string {
	n := s.copied
	if n == nil {
		return ""
	}
	s.copied = nil
	return fmt.Sprintf(", reading Secret %s/%s (%s from %s)", n.copy.namespace, n.copy.name, strings.ToLower(n.verb), n.copy.source)
}

// recordCopy records a SecretCopied event for a copy that no server event
// told (the certificate changed, the server did not).
func (r *Reconciler) recordCopy(s *scope) {
	n := s.copied
	if n == nil {
		return
	}
	s.copied = nil
	written := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: metav1.ObjectMeta{Name: n.copy.name, Namespace: n.copy.namespace}}
	r.Events.Eventf(s.gs, written, corev1.EventTypeNormal, edgecertv1alpha1.ReasonSecretCopied, "Reconcile", "%s Secret %s/%s from %s", n.verb, n.copy.namespace, n.copy.name, n.copy.source)
}

// deleteCopies deletes this GatewayService's Secret copies except keep,
// which may be nil: deleted only when their owner annotation names gs by
// UID, so a Secret someone labelled like a copy is never deleted.
func (r *Reconciler) deleteCopies(ctx context.Context, gs *edgecertv1alpha1.GatewayService, keep *secretCopy) error {
	list, err := r.labelledCopies(ctx, client.ObjectKeyFromObject(gs))
	if err != nil {
		return err
	}
	for _, secret := range list {
		if keep != nil && secret.Namespace == keep.namespace && secret.Name == keep.name || !ownsCopy(secret, gs) {
			continue
		}
		if err := r.Client.Delete(ctx, secret, client.Preconditions{UID: &secret.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete Secret %s/%s: %w", secret.Namespace, secret.Name, err)
		}
	}
	return nil
}

// orphanCopies lists the Secret copies written for the GatewayService key,
// which is gone: kept only when their owner annotation names a
// GatewayService of that namespace and name (whatever its UID), so a
// Secret someone labelled like a copy is never deleted.
func (r *Reconciler) orphanCopies(ctx context.Context, key types.NamespacedName) ([]*metav1.PartialObjectMetadata, error) {
	list, err := r.labelledCopies(ctx, key)
	if err != nil {
		return nil, err
	}
	var out []*metav1.PartialObjectMetadata
	for _, secret := range list {
		if o, ok := kube.OwnerOf(secret); ok && o.Kind == gatewayServiceKind && o.Namespace == key.Namespace && o.Name == key.Name {
			out = append(out, secret)
		}
	}
	return out, nil
}

// labelledCopies lists, from the cache (metadata only), the Secrets
// labelled as copies for the GatewayService key: candidates, whose owner
// annotation decides.
func (r *Reconciler) labelledCopies(ctx context.Context, key types.NamespacedName) ([]*metav1.PartialObjectMetadata, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	gs := &edgecertv1alpha1.GatewayService{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	if err := r.Cache.List(ctx, list, client.MatchingLabels(copyLabels(gs))); err != nil {
		return nil, fmt.Errorf("list Secret copies: %w", err)
	}
	out := make([]*metav1.PartialObjectMetadata, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }
