package v1alpha1

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// GenericIssuer is what Issuer and ClusterIssuer share, so one reconciler
// and one lookup serve both.
// +kubebuilder:object:generate=false
type GenericIssuer interface {
	client.Object
	GetSpec() *IssuerSpec
	GetStatus() *IssuerStatus
}

// GetSpec returns the issuer's spec.
func (i *Issuer) GetSpec() *IssuerSpec { return &i.Spec }

// GetStatus returns the issuer's status.
func (i *Issuer) GetStatus() *IssuerStatus { return &i.Status }

// GetSpec returns the issuer's spec.
func (i *ClusterIssuer) GetSpec() *IssuerSpec { return &i.Spec }

// GetStatus returns the issuer's status.
func (i *ClusterIssuer) GetStatus() *IssuerStatus { return &i.Status }

// Issuer kinds, as written in issuerRef.kind.
const (
	IssuerKind        = "Issuer"
	ClusterIssuerKind = "ClusterIssuer"
)

// KindOrDefault is the reference's kind, Issuer when it is empty (the API
// server defaults it; objects built in code may not).
func (r IssuerReference) KindOrDefault() string {
	if r.Kind == "" {
		return IssuerKind
	}
	return r.Kind
}

// AccountKeyDataKey is the key, in an issuer's privateKeySecretRef Secret,
// that holds the ACME account key (PEM).
const AccountKeyDataKey = "tls.key"

// IssuerSecretNamespace is where an issuer's Secrets live: the Issuer's own
// namespace, or clusterResourceNamespace (edgecert's) for a ClusterIssuer.
func IssuerSecretNamespace(issuer GenericIssuer, clusterResourceNamespace string) string {
	if issuer.GetNamespace() != "" {
		return issuer.GetNamespace()
	}
	return clusterResourceNamespace
}

// IssuerKindOf is IssuerKind or ClusterIssuerKind, by the issuer's type.
func IssuerKindOf(issuer GenericIssuer) string {
	if _, ok := issuer.(*ClusterIssuer); ok {
		return ClusterIssuerKind
	}
	return IssuerKind
}
