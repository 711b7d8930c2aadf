package kube

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// Labels and the field manager on everything edgecert writes.
const (
	// ManagedByLabel marks objects edgecert created, for people and for
	// selection: the manager watches the metadata of Secrets with this
	// label only, so that it does not hear of the cluster's other Secrets.
	// Anyone who can write an object can set it, so it never decides
	// ownership (OwnerAnnotation, OwnedBy do).
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedByValue is ManagedByLabel's value.
	ManagedByValue = "edgecert"
	// FieldManager is edgecert's server-side apply field manager.
	FieldManager = "edgecert"
)

// Secrets reads Secrets the way every edgecert controller must: from the
// cache (a SecretCache: the labelled Secrets, whose data is kept only for
// those edgecert wrote) and, when a Secret is not there, straight from the
// API server, so that a Secret someone else made is seen (and not
// overwritten) without caching every Secret.
type Secrets struct {
	Cached   client.Reader
	Uncached client.Reader
}

// Get returns the Secret, or nil and no error when it does not exist.
func (s Secrets) Get(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
	var secret corev1.Secret
	err := s.Cached.Get(ctx, key, &secret)
	if err == nil {
		return &secret, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	err = s.Uncached.Get(ctx, key, &secret)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &secret, nil
}

// IsLabelled reports whether obj carries ManagedByLabel: an older
// edgecert's mark, or anyone's. It is a hint for adopting what an older
// edgecert wrote, together with proof in the object's content, never
// ownership on its own.
func IsLabelled(obj client.Object) bool {
	return obj.GetLabels()[ManagedByLabel] == ManagedByValue
}

// Value returns one key of a Secret a spec references. A missing Secret or
// key is a terminal error: a person must create it.
func (s Secrets) Value(ctx context.Context, namespace string, sel edgecertv1alpha1.SecretKeySelector) ([]byte, error) {
	secret, err := s.Get(ctx, types.NamespacedName{Namespace: namespace, Name: sel.Name})
	if err != nil {
		return nil, err
	}
	if secret == nil {
		return nil, reconcile.TerminalError(fmt.Errorf("Secret %s/%s does not exist", namespace, sel.Name))
	}
	v, ok := secret.Data[sel.Key]
	if !ok || len(v) == 0 {
		return nil, reconcile.TerminalError(fmt.Errorf("Secret %s/%s has no key %q", namespace, sel.Name, sel.Key))
	}
	return v, nil
}

// TerminalMessage is err's text without controller-runtime's "terminal
// error: " prefix, for a condition message.
func TerminalMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "terminal error: ")
}
