package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgecert/edgecert/internal/gateway"
)

// NewNamespaceMetadata is an empty Namespace as metadata only: what the
// controllers watch (with builder.OnlyMetadata) and read for host claims,
// which match on a namespace's name and labels.
func NewNamespaceMetadata() *metav1.PartialObjectMetadata {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return ns
}

// Namespace reads namespace name's labels from reader (the manager's
// metadata cache), as host claims match on them.
func Namespace(ctx context.Context, reader client.Reader, name string) (gateway.Namespace, error) {
	ns := NewNamespaceMetadata()
	if err := reader.Get(ctx, types.NamespacedName{Name: name}, ns); err != nil {
		return gateway.Namespace{}, fmt.Errorf("get namespace %s: %w", name, err)
	}
	return gateway.Namespace{Name: name, Labels: ns.Labels}, nil
}
