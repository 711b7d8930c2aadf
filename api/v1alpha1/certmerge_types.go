package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BundleSources is what CertMerge and ClusterCertMerge share: which TLS
// Secrets go into the bundle, how their entries are named, and which
// workloads must roll when the bundle changes.
type BundleSources struct {
	// Secrets names source Secrets one by one. A namespace other than the
	// bundle's needs a ClusterCertMerge or a CertMergeGrant in that
	// namespace.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	Secrets []SecretSource `json:"secrets,omitempty"`

	// Selectors choose source Secrets by label, in a list of namespaces.
	// Only Secrets of type kubernetes.io/tls are considered.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	Selectors []SecretSelector `json:"selectors,omitempty"`

	// KeyTemplate names the bundle entries of each source: the template,
	// with {name} and {namespace} replaced by the source Secret's, followed
	// by ".crt" (tls.crt, the chain) and ".key" (tls.key). The default,
	// "{name}", gives "<secretName>.crt" and "<secretName>.key", the file
	// names an Istio 1.0 gateway mounting istio-ingressgateway-certs
	// expects. Use "{namespace}.{name}" when sources from several
	// namespaces share names.
	// +optional
	// +kubebuilder:default="{name}"
	// +kubebuilder:validation:MaxLength=120
	// +kubebuilder:validation:XValidation:rule="self.contains('{name}')",message="keyTemplate must contain {name}, or every source would map to the same key"
	// +kubebuilder:validation:XValidation:rule="self.matches('^([-._a-zA-Z0-9]|[{]name[}]|[{]namespace[}])+$')",message="keyTemplate may hold only letters, digits, '-', '_', '.', {name} and {namespace}"
	KeyTemplate string `json:"keyTemplate,omitempty"`

	// Workloads in the bundle Secret's namespace that read the bundle as
	// files and do not watch them. When the bundle changes, edgecert sets
	// the annotation edgecert.dev/bundle-checksum on their pod template,
	// so they roll and read the new files.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	Workloads []WorkloadReference `json:"workloads,omitempty"`
}

// SecretSource names one source Secret.
type SecretSource struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace of the Secret; defaults to the bundle Secret's namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// SecretSelector chooses source Secrets by label in some namespaces.
type SecretSelector struct {
	// LabelSelector is a standard label selector: matchLabels and
	// matchExpressions with In, NotIn, Exists and DoesNotExist. An empty
	// selector matches every TLS Secret of the namespaces.
	LabelSelector metav1.LabelSelector `json:"labelSelector"`
	// Namespaces to look in; empty means the bundle Secret's namespace.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=63
	Namespaces []string `json:"namespaces,omitempty"`
}

// WorkloadReference names a Deployment, StatefulSet or DaemonSet.
type WorkloadReference struct {
	// Kind of the workload.
	// +kubebuilder:validation:Enum=Deployment;StatefulSet;DaemonSet
	Kind string `json:"kind"`
	// Name of the workload, in the bundle Secret's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// CertMergeStatus is what edgecert observed and did on its last pass; the
// same for CertMerge and ClusterCertMerge.
type CertMergeStatus struct {
	// Conditions: Ready, Reconciling, Stalled, SourcesReady and KeysUnique.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the generation the last successful pass acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Sources lists each source whose entries are in the bundle, sorted by
	// namespace and name.
	// +optional
	// +listType=atomic
	Sources []BundleSourceStatus `json:"sources,omitempty"`

	// Excluded lists selected sources left out of the bundle (or kept at
	// their last good data), and why.
	// +optional
	// +listType=atomic
	Excluded []ExcludedSource `json:"excluded,omitempty"`

	// SourceCount is len(Sources), for the printer column.
	// +optional
	SourceCount int32 `json:"sourceCount,omitempty"`

	// EarliestExpiry is the soonest NotAfter of any certificate in the bundle.
	// +optional
	EarliestExpiry *metav1.Time `json:"earliestExpiry,omitempty"`

	// BundleChecksum is the SHA-256 of the bundle's data, the value written
	// to the bundle's and the workloads' edgecert.dev/bundle-checksum
	// annotation.
	// +optional
	BundleChecksum string `json:"bundleChecksum,omitempty"`
}

// BundleSourceStatus describes one source in the bundle.
type BundleSourceStatus struct {
	// Namespace of the source Secret.
	Namespace string `json:"namespace"`
	// Name of the source Secret.
	Name string `json:"name"`
	// CertKey is the bundle entry holding its chain.
	CertKey string `json:"certKey"`
	// KeyKey is the bundle entry holding its private key.
	KeyKey string `json:"keyKey"`
	// Hosts are the DNS names of the leaf certificate.
	// +optional
	// +listType=atomic
	Hosts []string `json:"hosts,omitempty"`
	// NotAfter is when the leaf certificate expires.
	NotAfter metav1.Time `json:"notAfter"`
	// Stale is true when the Secret is now invalid and the bundle keeps
	// the last good data it had for it.
	// +optional
	Stale bool `json:"stale,omitempty"`
}

// ExcludedSource is a selected source whose current data is not in the
// bundle.
type ExcludedSource struct {
	// Namespace of the source Secret.
	Namespace string `json:"namespace"`
	// Name of the source Secret.
	Name string `json:"name"`
	// Reason is CamelCase: NotFound, NotPermitted, NotTLS, InvalidCertificate,
	// KeyMismatch, KeyCollision or BundleTooLarge.
	Reason string `json:"reason"`
	// Message says what is wrong, without key material.
	Message string `json:"message"`
}

// CertMergeSpec is a namespaced merge: the bundle Secret is in the
// CertMerge's namespace.
//
// +kubebuilder:validation:XValidation:rule="has(self.secrets) || has(self.selectors)",message="name at least one source in secrets or selectors"
type CertMergeSpec struct {
	// SecretName is the bundle Secret edgecert writes (type Opaque), in the
	// CertMerge's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="secretName is immutable; create a new CertMerge"
	SecretName string `json:"secretName"`

	BundleSources `json:",inline"`
}

// CertMerge merges TLS Secrets into one Opaque bundle Secret in its own
// namespace, for gateways that mount one Secret of files (Istio's
// istio-ingressgateway-certs). It reads Secrets of its own namespace; other
// namespaces need a CertMergeGrant there, or a ClusterCertMerge.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=edgecert,shortName=cmerge
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.spec.secretName`
// +kubebuilder:printcolumn:name="Sources",type=integer,JSONPath=`.status.sourceCount`
// +kubebuilder:printcolumn:name="Earliest Expiry",type=date,JSONPath=`.status.earliestExpiry`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CertMerge struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CertMergeSpec   `json:"spec"`
	Status CertMergeStatus `json:"status,omitempty"`
}

// CertMergeList is a list of CertMerges.
//
// +kubebuilder:object:root=true
type CertMergeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CertMerge `json:"items"`
}

// BundleSecretNamespace is where the bundle Secret lives.
func (c *CertMerge) BundleSecretNamespace() string { return c.Namespace }

// BundleSecretName is the bundle Secret's name.
func (c *CertMerge) BundleSecretName() string { return c.Spec.SecretName }

// Sources returns the shared source spec.
func (c *CertMerge) Sources() *BundleSources { return &c.Spec.BundleSources }

// MergeStatus returns the status to fill in.
func (c *CertMerge) MergeStatus() *CertMergeStatus { return &c.Status }

// ClusterScoped is false: a CertMerge reads other namespaces only through
// grants.
func (c *CertMerge) ClusterScoped() bool { return false }

func init() {
	SchemeBuilder.Register(&CertMerge{}, &CertMergeList{})
}
