package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CertificateFinalizer keeps a Certificate deleted while an order is in
// flight until edgecert has removed the order's challenge records and
// routes (it gives up after a bounded time, so a deletion never hangs).
// edgecert adds it to every Certificate; what creates Certificates for
// edgecert (shims, GatewayServices) sets it at creation.
const CertificateFinalizer = "edgecert.dev/challenge-cleanup"

// RenewRequestedAtAnnotation on a Certificate asks for a new certificate
// now (`edgecert renew` sets it to the current time). edgecert answers
// each value with one order: the order it starts (or the one in flight)
// records the value in status.renewalRequest. The request also cuts short
// the backoff of earlier failures. Any new value asks again.
const RenewRequestedAtAnnotation = "edgecert.dev/renew-requested-at"

// CertificateSpec asks for a certificate for some hosts, from an issuer,
// stored in a Secret.
type CertificateSpec struct {
	// DNSNames are the hosts, lower case; "*.example.com" for a wildcard
	// (DNS-01 only).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`
	// +listType=set
	// +required
	DNSNames []string `json:"dnsNames"`

	// SecretName is the kubernetes.io/tls Secret, in the Certificate's
	// namespace, that receives tls.crt (the leaf, then the chain the CA
	// sent) and tls.key. ACME CAs do not send their root, so no ca.crt is
	// written.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	SecretName string `json:"secretName"`

	// IssuerRef is the Issuer or ClusterIssuer to obtain it from.
	// +required
	IssuerRef IssuerReference `json:"issuerRef"`

	// SecretTemplate adds labels and annotations to the Secret, e.g. the
	// labels a CertMerge selects on.
	// +optional
	SecretTemplate *SecretTemplate `json:"secretTemplate,omitempty"`

	// PrivateKey chooses the key type and when it is replaced.
	// +optional
	PrivateKey *PrivateKeySpec `json:"privateKey,omitempty"`

	// RenewBefore renews that long before expiry instead of when a third of
	// the lifetime remains (half under 10 days). Ignored when the CA gives
	// a renewal window (ACME Renewal Information).
	// +optional
	RenewBefore *metav1.Duration `json:"renewBefore,omitempty"`

	// SecretOwnerReference makes the Secret owned by this Certificate, so
	// deleting the Certificate deletes the Secret. Default: the Secret stays.
	// +optional
	SecretOwnerReference bool `json:"secretOwnerReference,omitempty"`
}

// IssuerReference names an Issuer in the Certificate's namespace or a
// ClusterIssuer.
type IssuerReference struct {
	// Name of the issuer.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
	// Kind is Issuer (default) or ClusterIssuer.
	// +kubebuilder:validation:Enum=Issuer;ClusterIssuer
	// +kubebuilder:default=Issuer
	// +optional
	Kind string `json:"kind,omitempty"`
}

// SecretTemplate is metadata copied onto the Secret.
type SecretTemplate struct {
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PrivateKeySpec is the certificate's key.
// +kubebuilder:validation:XValidation:rule="!has(self.size) || (self.algorithm == 'RSA' ? self.size in [2048, 3072, 4096] : self.size in [256, 384])",message="size must be 256 or 384 for ECDSA, 2048, 3072 or 4096 for RSA"
type PrivateKeySpec struct {
	// Algorithm is ECDSA (default) or RSA.
	// +kubebuilder:validation:Enum=ECDSA;RSA
	// +kubebuilder:default=ECDSA
	// +optional
	Algorithm string `json:"algorithm,omitempty"`
	// Size is 256 (default) or 384 for ECDSA; 2048 (default), 3072 or
	// 4096 for RSA.
	// +optional
	Size int `json:"size,omitempty"`
	// RotationPolicy is Always (default: a new key at each issuance) or
	// Never (keep the key while algorithm and size are unchanged).
	// +kubebuilder:validation:Enum=Always;Never
	// +kubebuilder:default=Always
	// +optional
	RotationPolicy string `json:"rotationPolicy,omitempty"`
}

// CertificateStatus is what edgecert observed and where an issuance stands.
type CertificateStatus struct {
	// Conditions: Ready, Issuing, Reconciling, Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the spec generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// NotBefore and NotAfter bound the current certificate's validity.
	// +optional
	NotBefore *metav1.Time `json:"notBefore,omitempty"`
	// +optional
	NotAfter *metav1.Time `json:"notAfter,omitempty"`
	// RenewalTime is when edgecert will renew.
	// +optional
	RenewalTime *metav1.Time `json:"renewalTime,omitempty"`
	// Revision counts the certificates issued for this object.
	// +optional
	Revision int `json:"revision,omitempty"`
	// FailedIssuanceAttempts counts failures since the last success; the
	// retry delay doubles with each (5 min to 32 h).
	// +optional
	FailedIssuanceAttempts int `json:"failedIssuanceAttempts,omitempty"`
	// LastFailureTime is when the last attempt failed.
	// +optional
	LastFailureTime *metav1.Time `json:"lastFailureTime,omitempty"`
	// LastFailureReason is the reason of the last failed attempt
	// (OrderFailed, OrderAbandoned, ReplacesRejected, ...); the Issuing or
	// Ready condition carries its message.
	// +optional
	LastFailureReason string `json:"lastFailureReason,omitempty"`
	// RenewalInfo is the renewal window the CA last suggested for the
	// current certificate (ACME Renewal Information, RFC 9773). edgecert
	// asks again as often as the CA says and moves renewalTime when the
	// window moves.
	// +optional
	RenewalInfo *RenewalInfoStatus `json:"renewalInfo,omitempty"`
	// RenewalRequest is the last edgecert.dev/renew-requested-at value an
	// order answered (one started after the request, or in flight when it
	// came). A different value asks for a new certificate.
	// +optional
	RenewalRequest string `json:"renewalRequest,omitempty"`
	// Order is the ACME order in flight. Kept here so that a restarted or
	// newly elected controller resumes it instead of creating another.
	// +optional
	Order *OrderStatus `json:"order,omitempty"`
}

// OrderStatus is an ACME order in flight.
type OrderStatus struct {
	// URL of the order at the CA.
	URL string `json:"url"`
	// DNSNames the order is for; a spec change abandons the order.
	// +listType=atomic
	DNSNames []string `json:"dnsNames"`
	// KeyHash identifies the private key the order's CSR is made with.
	// +optional
	KeyHash string `json:"keyHash,omitempty"`
	// EncryptedKey is the order's new private key (PKCS#8), sealed with
	// AES-256-GCM under a key derived from the issuer's ACME account key
	// and bound to this Certificate and order, so that a restarted
	// controller finalizes with the key it made, and nobody without the
	// account key can read it. Empty when the order reuses the key in the
	// Secret (rotationPolicy Never). Removed with the order.
	// +optional
	EncryptedKey string `json:"encryptedKey,omitempty"`
	// Replaces is the ARI identifier of the certificate being renewed.
	// +optional
	Replaces string `json:"replaces,omitempty"`
	// Created is when edgecert created the order.
	Created metav1.Time `json:"created"`
	// Challenges are the ones edgecert is answering.
	// +optional
	// +listType=atomic
	Challenges []ChallengeStatus `json:"challenges,omitempty"`
}

// RenewalInfoStatus is a renewal window suggested by the CA.
type RenewalInfoStatus struct {
	// SuggestedWindowStart and SuggestedWindowEnd bound the window.
	SuggestedWindowStart metav1.Time `json:"suggestedWindowStart"`
	SuggestedWindowEnd   metav1.Time `json:"suggestedWindowEnd"`
	// ExplanationURL is where the CA explains an unusual window (a mass
	// revocation, for instance).
	// +optional
	ExplanationURL string `json:"explanationURL,omitempty"`
}

// ChallengeStatus is one challenge of an order.
type ChallengeStatus struct {
	// DNSName is the host being validated (without "*.").
	DNSName string `json:"dnsName"`
	// Wildcard is true when the order asks for "*.<dnsName>".
	// +optional
	Wildcard bool `json:"wildcard,omitempty"`
	// Type is http-01 or dns-01.
	Type string `json:"type"`
	// URL of the challenge at the CA.
	URL string `json:"url"`
	// AuthorizationURL of the authorization it belongs to.
	AuthorizationURL string `json:"authorizationURL"`
	// Token is the challenge token (HTTP-01 path).
	Token string `json:"token"`
	// KeyAuthorization is what HTTP-01 serves at
	// /.well-known/acme-challenge/<token>: public by design. Every replica
	// answers from here. Empty for DNS-01.
	// +optional
	KeyAuthorization string `json:"keyAuthorization,omitempty"`
	// DNS01Value is the TXT record value for DNS-01.
	// +optional
	DNS01Value string `json:"dns01Value,omitempty"`
	// RecordName is the TXT record name used for DNS-01, after CNAMEs.
	// +optional
	RecordName string `json:"recordName,omitempty"`
	// Zone is the DNS zone RecordName was published in.
	// +optional
	Zone string `json:"zone,omitempty"`
	// Solver is the index of the issuer's solver that answers it.
	Solver int `json:"solver"`
}

// Certificate is a TLS certificate that edgecert obtains and renews.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=edgecert,shortName=ecert
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.spec.secretName`
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.notAfter`
// +kubebuilder:printcolumn:name="Renewal",type=string,JSONPath=`.status.renewalTime`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.metadata.annotations.edgecert\.dev/source`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Certificate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CertificateSpec   `json:"spec"`
	Status CertificateStatus `json:"status,omitempty"`
}

// CertificateList is a list of Certificates.
// +kubebuilder:object:root=true
type CertificateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Certificate `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Certificate{}, &CertificateList{})
}
