package kube

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
)

// NewSecrets returns the Secret readers the controllers of one manager
// share: cache is the manager's cache (edgecert's kinds, and the metadata
// of labelled Secrets), api the API server, clusterResourceNamespace where
// ClusterIssuers keep their account keys.
func NewSecrets(cache, api client.Reader, clusterResourceNamespace string) Secrets {
	shared := NewSharedSecretReads(api)
	return Secrets{
		Cached:   &SecretCache{Meta: cache, API: shared, Owned: SecretOwner(cache, clusterResourceNamespace)},
		Uncached: shared,
	}
}

// SecretOwner returns the check that decides whether edgecert wrote a
// Secret: the owner the Secret names (OwnerOf) exists in reader with that
// UID, and names this Secret as the one edgecert writes for it:
//
//   - a Certificate: its spec.secretName, in its namespace;
//   - a GatewayService: its copy's name (gateway.CredentialName);
//   - a CertMerge or ClusterCertMerge: its bundle Secret;
//   - an Issuer or ClusterIssuer: its account key Secret
//     (privateKeySecretRef, in its namespace or clusterResourceNamespace).
//
// So one owner vouches for one Secret, and a tenant who copies an owner's
// UID onto other Secrets gains nothing.
func SecretOwner(reader client.Reader, clusterResourceNamespace string) SecretOwnerCheck {
	return func(ctx context.Context, secret metav1.Object) bool {
		o, ok := OwnerOf(secret)
		if !ok {
			return false
		}
		ns, name := secret.GetNamespace(), secret.GetName()
		key := types.NamespacedName{Namespace: o.Namespace, Name: o.Name}
		get := func(obj client.Object) bool {
			return reader.Get(ctx, key, obj) == nil && obj.GetUID() == o.UID
		}
		switch o.Kind {
		case "Certificate":
			var c edgecertv1alpha1.Certificate
			return o.Namespace == ns && get(&c) && c.Spec.SecretName == name
		case "GatewayService":
			var gs edgecertv1alpha1.GatewayService
			return get(&gs) && name == gateway.CredentialName(gs.Namespace, gs.Name)
		case "CertMerge":
			var m edgecertv1alpha1.CertMerge
			return o.Namespace == ns && get(&m) && m.BundleSecretName() == name
		case "ClusterCertMerge":
			var m edgecertv1alpha1.ClusterCertMerge
			return get(&m) && m.BundleSecretNamespace() == ns && m.BundleSecretName() == name
		case edgecertv1alpha1.IssuerKind:
			var iss edgecertv1alpha1.Issuer
			return o.Namespace == ns && get(&iss) && iss.Spec.ACME.PrivateKeySecretRef.Name == name
		case edgecertv1alpha1.ClusterIssuerKind:
			var iss edgecertv1alpha1.ClusterIssuer
			return clusterResourceNamespace == ns && get(&iss) && iss.Spec.ACME.PrivateKeySecretRef.Name == name
		}
		return false
	}
}
