package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DNS record policies: what edgecert may do to the records it owns in a
// zone. Records it does not own are never changed, whatever the policy.
const (
	// DNSPolicySync creates, updates and deletes owned records.
	DNSPolicySync = "sync"
	// DNSPolicyUpsertOnly creates and updates owned records, never deletes.
	DNSPolicyUpsertOnly = "upsert-only"
	// DNSPolicyCreateOnly only creates records that are not there yet.
	DNSPolicyCreateOnly = "create-only"
)

// Annotations read by the DNSZone controller on its sources.
const (
	// PublishDNSAnnotation set to "true" on an Istio Gateway publishes its
	// servers' hosts in the DNSZones that cover them; on a Gateway API
	// Gateway, its listeners' hostnames, those of the routes attached to
	// its catch-all and wildcard listeners, and those of the ListenerSets
	// it admits.
	PublishDNSAnnotation = "edgecert.dev/publish-dns"
	// DNSTTLAnnotation on a GatewayService, an Istio Gateway, a Gateway API
	// Gateway, route or ListenerSet overrides the zone's TTL (seconds) for
	// its records.
	DNSTTLAnnotation = "edgecert.dev/dns-ttl"
)

// DNSZoneSpec is one DNS zone edgecert publishes gateway hosts in: the
// provider and its credentials, which hosts, and what it may do there.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.txtPrefix) && has(self.txtSuffix))",message="txtPrefix and txtSuffix are mutually exclusive, as in external-dns"
type DNSZoneSpec struct {
	// Zone is the zone's name, e.g. "example.com"; records are written
	// only at names under it.
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.?$`
	// +kubebuilder:validation:MaxLength=253
	// +required
	Zone string `json:"zone"`

	// Provider is the DNS service holding the zone, with credentials
	// referenced as DNS-01 solvers reference them; the Secrets live in
	// edgecert's namespace (the zone is cluster-scoped, like a
	// ClusterIssuer).
	// +required
	Provider DNSZoneProvider `json:"provider"`

	// Domains limits the hosts published in this zone. Unset: every host
	// under the zone.
	// +optional
	Domains *DNSDomainFilter `json:"domains,omitempty"`

	// Policy is sync (create, update, delete), upsert-only (never delete)
	// or create-only (never change an existing record).
	// +kubebuilder:validation:Enum=sync;upsert-only;create-only
	// +kubebuilder:default=sync
	// +optional
	Policy string `json:"policy,omitempty"`

	// OwnerID marks the records edgecert owns, in external-dns's TXT
	// registry format. Use external-dns's --txt-owner-id to take over the
	// records an external-dns wrote (or to hand them back).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[^,="]+$`
	// +required
	OwnerID string `json:"ownerID"`

	// TXTPrefix and TXTSuffix are external-dns's --txt-prefix and
	// --txt-suffix: added to the ownership TXT record's name
	// ("%{record_type}" in them is replaced by the record type).
	// +kubebuilder:validation:MaxLength=63
	// +optional
	TXTPrefix string `json:"txtPrefix,omitempty"`
	// +kubebuilder:validation:MaxLength=63
	// +optional
	TXTSuffix string `json:"txtSuffix,omitempty"`
	// TXTWildcardReplacement is external-dns's --txt-wildcard-replacement:
	// it replaces the "*" of a wildcard in the ownership record's name.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	TXTWildcardReplacement string `json:"txtWildcardReplacement,omitempty"`

	// TXTEncryptAESKeySecretRef encrypts the ownership records' values
	// with AES-GCM, as external-dns's --txt-encrypt-enabled and
	// --txt-encrypt-aes-key do (the key: 32 bytes, or their base64).
	// Plain values are still read.
	// +optional
	TXTEncryptAESKeySecretRef *SecretKeySelector `json:"txtEncryptAESKeySecretRef,omitempty"`

	// TTL of the records written, in seconds (the edgecert.dev/dns-ttl
	// annotation of a source overrides it).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=604800
	// +kubebuilder:default=300
	// +optional
	TTL int32 `json:"ttl,omitempty"`

	// Target replaces the ingress gateway Service's load balancer address
	// as the records' target: IP addresses (A and AAAA records) or one
	// host name (a CNAME).
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	Targets []string `json:"targets,omitempty"`

	// ResyncPeriod is how often the zone is listed and drift made by hand
	// repaired, even without a change in the cluster. Default: 1m.
	// +optional
	ResyncPeriod *metav1.Duration `json:"resyncPeriod,omitempty"`
}

// DNSZoneProvider is the DNS service of a zone: exactly one of its fields.
// +kubebuilder:validation:XValidation:rule="has(self.rfc2136) != has(self.route53)",message="exactly one DNS provider (rfc2136, route53) must be set"
type DNSZoneProvider struct {
	// RFC2136 sends TSIG-signed dynamic updates and lists the zone with a
	// TSIG-signed AXFR (the key must be allowed both).
	// +optional
	RFC2136 *RFC2136Provider `json:"rfc2136,omitempty"`
	// Route53 uses AWS Route 53.
	// +optional
	Route53 *Route53Provider `json:"route53,omitempty"`
}

// DNSDomainFilter chooses hosts by domain: a host is published when it is
// equal to or under an included domain (or none is listed) and neither
// equal to nor under an excluded one.
type DNSDomainFilter struct {
	// Include lists domains to publish.
	// +kubebuilder:validation:MaxItems=100
	// +listType=set
	// +optional
	Include []string `json:"include,omitempty"`
	// Exclude lists domains never to publish.
	// +kubebuilder:validation:MaxItems=100
	// +listType=set
	// +optional
	Exclude []string `json:"exclude,omitempty"`
}

// DNSZoneStatus is what edgecert last found and did in the zone.
type DNSZoneStatus struct {
	// Conditions: Ready, Reconciling, Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the spec generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Records counts the address records edgecert owns in the zone, by
	// type (A, AAAA, CNAME).
	// +optional
	Records map[string]int32 `json:"records,omitempty"`
	// OwnerConflicts are names edgecert would publish but another owner
	// (or nobody, by hand) holds; nothing is written there.
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	// +optional
	OwnerConflicts []DNSRecordProblem `json:"ownerConflicts,omitempty"`
	// Skipped are hosts of sources that are not published, with the
	// reason (outside the zone or its domains, "*", no target).
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	// +optional
	Skipped []DNSRecordProblem `json:"skipped,omitempty"`
}

// DNSRecordProblem is a host that is not published as asked, and why.
type DNSRecordProblem struct {
	// Name is the host (or record name).
	Name string `json:"name"`
	// Source is the object that asks for it, "<kind>/<namespace>/<name>".
	// +optional
	Source string `json:"source,omitempty"`
	// Reason says why, in words.
	Reason string `json:"reason"`
}

// DNSZone publishes the hosts that edgecert's gateways serve as A, AAAA or
// CNAME records in one zone, next to ownership TXT records compatible with
// external-dns's TXT registry.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=edgecert,shortName=dnsz
// +kubebuilder:printcolumn:name="Zone",type=string,JSONPath=`.spec.zone`
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.spec.policy`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DNSZone struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DNSZoneSpec   `json:"spec"`
	Status DNSZoneStatus `json:"status,omitempty"`
}

// DNSZoneList is a list of DNSZones.
// +kubebuilder:object:root=true
type DNSZoneList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DNSZone `json:"items"`
}

func init() {
	SchemeBuilder.Register(&DNSZone{}, &DNSZoneList{})
}
