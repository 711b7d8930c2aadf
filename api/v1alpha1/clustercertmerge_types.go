package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterCertMergeSpec is a cluster-wide merge: sources may be in any
// namespace, and the bundle Secret's namespace is named.
type ClusterCertMergeSpec struct {
	// SecretName is the bundle Secret edgecert writes (type Opaque).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="secretName is immutable; create a new ClusterCertMerge"
	SecretName string `json:"secretName"`
	// SecretNamespace is the bundle Secret's namespace, and the default
	// namespace of sources and workloads.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="secretNamespace is immutable; create a new ClusterCertMerge"
	SecretNamespace string `json:"secretNamespace"`

	BundleSources `json:",inline"`
}

// ClusterCertMerge merges TLS Secrets from any namespace into one bundle
// Secret. Being cluster-scoped, only whoever may create cluster-scoped
// objects (a cluster admin, by default) can create one; that is what lets
// it read every namespace without grants.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=edgecert,shortName=ccmerge
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.spec.secretNamespace`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.spec.secretName`
// +kubebuilder:printcolumn:name="Sources",type=integer,JSONPath=`.status.sourceCount`
// +kubebuilder:printcolumn:name="Earliest Expiry",type=date,JSONPath=`.status.earliestExpiry`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterCertMerge struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterCertMergeSpec `json:"spec"`
	Status CertMergeStatus      `json:"status,omitempty"`
}

// ClusterCertMergeList is a list of ClusterCertMerges.
//
// +kubebuilder:object:root=true
type ClusterCertMergeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterCertMerge `json:"items"`
}

// BundleSecretNamespace is where the bundle Secret lives.
func (c *ClusterCertMerge) BundleSecretNamespace() string { return c.Spec.SecretNamespace }

// BundleSecretName is the bundle Secret's name.
func (c *ClusterCertMerge) BundleSecretName() string { return c.Spec.SecretName }

// Sources returns the shared source spec.
func (c *ClusterCertMerge) Sources() *BundleSources { return &c.Spec.BundleSources }

// MergeStatus returns the status to fill in.
func (c *ClusterCertMerge) MergeStatus() *CertMergeStatus { return &c.Status }

// ClusterScoped is true: a ClusterCertMerge may read any namespace.
func (c *ClusterCertMerge) ClusterScoped() bool { return true }

func init() {
	SchemeBuilder.Register(&ClusterCertMerge{}, &ClusterCertMergeList{})
}
