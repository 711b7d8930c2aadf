package kube

import (
	"context"
	"fmt"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// SharedSecretReads reads Secrets from Reader (the API server), sharing a
// read in flight among the callers that ask for the same Secret while it
// lasts: when many GatewayServices of a namespace read one tenant Secret
// at once (a bulk apply), the API server answers one GET, not one each.
// No answer is kept once its GET returns: a caller gets either its own
// read or one that was in flight when it asked. The shared read runs with
// the first caller's context, so its cancellation fails the others' read
// too (they retry as after any failed read). Other kinds, and reads with
// options, go to Reader as they are.
type SharedSecretReads struct {
	client.Reader
	flight singleflight.Group
}

var _ client.Reader = (*SharedSecretReads)(nil)

// NewSharedSecretReads shares r's Secret reads.
func NewSharedSecretReads(r client.Reader) *SharedSecretReads {
	return &SharedSecretReads{Reader: r}
}

// Get reads obj; a *corev1.Secret through the shared read of key.
func (s *SharedSecretReads) Get(ctx context.Context, key types.NamespacedName, obj client.Object, opts ...client.GetOption) error {
	secret, ok := obj.(*corev1.Secret)
	if !ok || len(opts) > 0 {
		return s.Reader.Get(ctx, key, obj, opts...)
	}
	v, err, _ := s.flight.Do(key.String(), func() (any, error) {
		var fresh corev1.Secret
		if err := s.Reader.Get(ctx, key, &fresh); err != nil {
			return nil, err
		}
		return &fresh, nil
	})
	if err != nil {
		return err
	}
	shared, ok := v.(*corev1.Secret)
	if !ok {
		return fmt.Errorf("shared read of Secret %s returned %T", key, v)
	}
	shared.DeepCopyInto(secret)
	return nil
}
