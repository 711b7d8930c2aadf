package kube

import (
	"context"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// SecretGVK is the Secret kind, for metadata-only reads and watches.
var SecretGVK = corev1.SchemeGroupVersion.WithKind("Secret")

// NewSecretMetadata returns an empty Secret metadata object, for a Get, a
// watch (with builder.OnlyMetadata) or, as a list, a List.
func NewSecretMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(SecretGVK)
	return m
}

// SecretOwnerCheck reports whether edgecert wrote secret for the owner it
// names (OwnerOf), checked against that owner as it is now.
type SecretOwnerCheck func(ctx context.Context, secret metav1.Object) bool

// SecretCache is the cached Secret reader every edgecert controller uses.
// The manager watches only the metadata of Secrets carrying
// ManagedByLabel, so that a tenant who labels large Secrets sends edgecert
// neither their data nor, beyond a few fields, their metadata. Data comes
// from the API server and is kept, per resourceVersion, only for Secrets
// that Owned says edgecert wrote: memory grows with what edgecert wrote,
// not with what others label.
//
// Get answers NotFound for a Secret the metadata cache does not hold (one
// edgecert did not label, or not yet seen), as a cache would; otherwise it
// returns the Secret as the API server has it, whoever owns it.
type SecretCache struct {
	// Meta reads Secret metadata from the manager's cache.
	Meta client.Reader
	// API reads Secrets straight from the API server.
	API client.Reader
	// Owned decides which Secrets' data is kept.
	Owned SecretOwnerCheck

	data sync.Map // types.NamespacedName -> *corev1.Secret
}

var _ client.Reader = (*SecretCache)(nil)

// Get reads a *corev1.Secret.
func (c *SecretCache) Get(ctx context.Context, key types.NamespacedName, obj client.Object, _ ...client.GetOption) error {
	secret, ok := obj.(*corev1.Secret)
	if !ok {
		return fmt.Errorf("SecretCache reads Secrets, not %T", obj)
	}
	m := NewSecretMetadata()
	if err := c.Meta.Get(ctx, key, m); err != nil {
		if apierrors.IsNotFound(err) {
			c.data.Delete(key)
		}
		return err
	}
	if v, ok := c.data.Load(key); ok && v.(*corev1.Secret).ResourceVersion == m.ResourceVersion {
		v.(*corev1.Secret).DeepCopyInto(secret)
		return nil
	}
	var fresh corev1.Secret
	if err := c.API.Get(ctx, key, &fresh); err != nil {
		if apierrors.IsNotFound(err) {
			c.data.Delete(key)
		}
		return err
	}
	if c.Owned(ctx, &fresh) {
		c.data.Store(key, fresh.DeepCopy())
	} else {
		c.data.Delete(key)
	}
	fresh.DeepCopyInto(secret)
	return nil
}

// List is refused: list Secret metadata (NewSecretMetadata's list kind)
// from the manager's cache, and Get what is needed.
func (c *SecretCache) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return fmt.Errorf("SecretCache does not list Secrets: list their metadata from the manager's cache")
}

// Len is how many Secrets' data the cache holds.
func (c *SecretCache) Len() int {
	n := 0
	c.data.Range(func(any, any) bool { n++; return true })
	return n
}

// SecretMetadataTransform trims what the manager's Secret informer keeps
// of each Secret to what edgecert's event handlers and ownership checks
// read. A Secret that names no edgecert owner (no OwnerAnnotation, no
// controller reference to an edgecert.dev kind) keeps its name,
// namespace, UID and resourceVersion only: it can be no more than
// someone else's Secret carrying the label, or one an older edgecert
// wrote, which its owner adopts on its own next pass (its changes wake no
// one until then). A Secret that names one keeps, in addition, the
// labels and annotations named and that controller reference. Managed
// fields, finalizers, other labels and annotations (kubectl's
// last-applied annotation can hold a whole Secret) are dropped, and so is
// data if a full Secret ever reaches it, so that a tenant's labelled
// Secret costs edgecert a few hundred bytes whatever its size.
func SecretMetadataTransform(labelKeys, annotationKeys []string) toolscache.TransformFunc {
	return func(in any) (any, error) {
		if s, ok := in.(*corev1.Secret); ok {
			s.Data, s.StringData = nil, nil
		}
		// Anything else (a tombstone) passes through unchanged.
		if obj, err := meta.Accessor(in); err == nil {
			trimSecretMetadata(obj, labelKeys, annotationKeys)
		}
		return in, nil
	}
}

func trimSecretMetadata(obj metav1.Object, labelKeys, annotationKeys []string) {
	_, claimed := OwnerOf(obj)
	var refs []metav1.OwnerReference
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		if _, ok := OwnerOf(&metav1.ObjectMeta{Namespace: obj.GetNamespace(), OwnerReferences: []metav1.OwnerReference{*ref}}); ok {
			refs = []metav1.OwnerReference{*ref}
		}
	}
	obj.SetManagedFields(nil)
	obj.SetFinalizers(nil)
	obj.SetGenerateName("")
	obj.SetCreationTimestamp(metav1.Time{})
	obj.SetOwnerReferences(refs)
	if claimed {
		obj.SetLabels(keep(obj.GetLabels(), labelKeys))
		obj.SetAnnotations(keep(obj.GetAnnotations(), annotationKeys))
	} else {
		obj.SetLabels(nil)
		obj.SetAnnotations(nil)
	}
}

func keep(m map[string]string, keys []string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if slices.Contains(keys, k) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}
