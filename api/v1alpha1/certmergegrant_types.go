package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CertMergeGrantSpec says which CertMerges of other namespaces may read TLS
// Secrets of the grant's namespace.
type CertMergeGrantSpec struct {
	// From lists the CertMerges allowed in.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +listType=atomic
	From []CertMergeGrantFrom `json:"from"`
	// SecretNames limits the grant to these Secrets; empty means every
	// TLS Secret of the namespace.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=500
	// +kubebuilder:validation:items:MaxLength=253
	SecretNames []string `json:"secretNames,omitempty"`
}

// CertMergeGrantFrom names CertMerges by namespace and, optionally, name.
type CertMergeGrantFrom struct {
	// Namespace of the CertMerges.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
	// Name of one CertMerge; empty means any CertMerge of the namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
}

// CertMergeGrant is created in a source namespace by whoever owns it, and lets
// CertMerges of other namespaces read its TLS Secrets, in the spirit of
// Gateway API's ReferenceGrant: the owner of the data consents, not the
// reader. ClusterCertMerges need no grant.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=edgecert,shortName=cmgrant
// +kubebuilder:printcolumn:name="From",type=string,JSONPath=`.spec.from[*].namespace`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CertMergeGrant struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec CertMergeGrantSpec `json:"spec"`
}

// CertMergeGrantList is a list of CertMergeGrants.
//
// +kubebuilder:object:root=true
type CertMergeGrantList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CertMergeGrant `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CertMergeGrant{}, &CertMergeGrantList{})
}
