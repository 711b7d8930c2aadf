package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IssuerSpec is an ACME account and how it proves control of hosts.
type IssuerSpec struct {
	// ACME is the account at an ACME CA (Let's Encrypt, ZeroSSL, a private
	// step-ca, Pebble).
	// +required
	ACME ACMEIssuer `json:"acme"`

	// Allowed limits who may use the issuer and for which hosts, on top of
	// the host claims of GatewayPolicies. Unset: every namespace (a
	// ClusterIssuer) or the Issuer's own namespace, for any host. A
	// Certificate the issuer does not allow is Ready=False with reason
	// IssuerNotAllowed and no order is made.
	// +optional
	Allowed *IssuerAllowed `json:"allowed,omitempty"`
}

// IssuerAllowed says which namespaces may use an issuer and for which
// hosts. A namespace is allowed when it is listed or matches the selector;
// with neither set, every namespace is.
type IssuerAllowed struct {
	// Namespaces are namespace names allowed to use a ClusterIssuer. An
	// Issuer serves only its own namespace and may not set this.
	// +kubebuilder:validation:MaxItems=1000
	// +listType=set
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
	// NamespaceSelector allows namespaces by label, for a ClusterIssuer.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// Domains the issuer may be used for, each with everything under it
	// ("example.com" allows example.com, www.example.com and
	// *.example.com). Unset: any host.
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:Pattern=`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`
	// +listType=set
	// +optional
	Domains []string `json:"domains,omitempty"`
}

// ACMEIssuer configures an ACME account.
type ACMEIssuer struct {
	// Server is the CA's ACME directory URL, e.g.
	// https://acme-v02.api.letsencrypt.org/directory.
	// +kubebuilder:validation:Pattern=`^https://`
	// +required
	Server string `json:"server"`

	// Email is the account's contact address; the CA sends expiry notices
	// and policy changes there.
	// +optional
	Email string `json:"email,omitempty"`

	// CABundle is PEM trusted for the directory's HTTPS connection, for
	// private ACME servers. The system roots are used when empty.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`

	// ExternalAccountBinding links the account to one you hold at the CA,
	// for CAs that require it.
	// +optional
	ExternalAccountBinding *ExternalAccountBinding `json:"externalAccountBinding,omitempty"`

	// Profile asks the CA for a certificate profile it advertises, e.g.
	// Let's Encrypt's "shortlived" (6 days).
	// +optional
	Profile string `json:"profile,omitempty"`

	// PrivateKeySecretRef names the Secret that holds the account key.
	// edgecert creates it when it does not exist. For an Issuer it lives in
	// the Issuer's namespace; for a ClusterIssuer, in edgecert's namespace.
	// +required
	PrivateKeySecretRef LocalSecretReference `json:"privateKeySecretRef"`

	// Solvers prove control of each host. For a host, the solver whose
	// selector matches most specifically wins: a dnsNames match, then the
	// longest dnsZones match, then label matches, then a solver with no
	// selector.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +required
	Solvers []ACMESolver `json:"solvers"`
}

// ExternalAccountBinding is an account key id and its MAC key, from the CA.
type ExternalAccountBinding struct {
	// KeyID is the key identifier the CA gave you.
	// +required
	KeyID string `json:"keyID"`
	// KeySecretRef holds the base64url MAC key the CA gave you.
	// +required
	KeySecretRef SecretKeySelector `json:"keySecretRef"`
}

// LocalSecretReference names a Secret in a namespace that context decides.
type LocalSecretReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
}

// SecretKeySelector picks one key of a Secret.
type SecretKeySelector struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
	// Key in the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +required
	Key string `json:"key"`
}

// ACMESolver is one way of proving control of hosts, and which hosts it is
// for.
// +kubebuilder:validation:XValidation:rule="has(self.http01) != has(self.dns01)",message="exactly one of http01 or dns01 must be set"
type ACMESolver struct {
	// Selector limits the solver to some hosts. Empty: every host.
	// +optional
	Selector *SolverSelector `json:"selector,omitempty"`
	// HTTP01 answers HTTP-01 challenges from edgecert's own HTTP listener.
	// +optional
	HTTP01 *HTTP01Solver `json:"http01,omitempty"`
	// DNS01 answers DNS-01 challenges by publishing TXT records; the only
	// way to get wildcard certificates.
	// +optional
	DNS01 *DNS01Solver `json:"dns01,omitempty"`
}

// SolverSelector picks the hosts a solver is for.
type SolverSelector struct {
	// DNSNames are exact hosts (wildcards written as "*.example.com").
	// +optional
	DNSNames []string `json:"dnsNames,omitempty"`
	// DNSZones match a host equal to or under any of these zones.
	// +optional
	DNSZones []string `json:"dnsZones,omitempty"`
	// MatchLabels match the Certificate's labels.
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// HTTP01Solver serves key authorizations at
// http://<host>/.well-known/acme-challenge/<token> from edgecert's HTTP
// listener. Every replica can answer: the answers come from Certificate
// status, not from one process's memory.
type HTTP01Solver struct {
	// Istio routes the CA's requests through an Istio ingress gateway to
	// edgecert's listener: for each order, edgecert creates a port-80
	// Gateway server for the hosts (unless gatewayName names an existing
	// Gateway) and a VirtualService sending /.well-known/acme-challenge/
	// to solverService, next to the Certificate, and deletes both when
	// the order ends. Unset: the CA's requests must reach edgecert's
	// listener some other way.
	// +optional
	Istio *HTTP01IstioRoute `json:"istio,omitempty"`
	// SkipSelfCheck tells the CA to validate without edgecert first
	// fetching the answer the way the CA will (--http01-self-check): for
	// hosts the controller cannot reach as the CA does, e.g. a load
	// balancer without hairpin NAT. A failed validation then counts
	// against the CA's limits for the account.
	// +optional
	SkipSelfCheck bool `json:"skipSelfCheck,omitempty"`
}

// HTTP01IstioRoute says which ingress gateway receives the CA's HTTP-01
// requests and where edgecert's listener is.
// +kubebuilder:validation:XValidation:rule="!(has(self.gatewayName) && has(self.gatewaySelector))",message="set gatewayName or gatewaySelector, not both"
type HTTP01IstioRoute struct {
	// GatewaySelector picks the ingress gateway pods (as an Istio
	// Gateway's selector does) that the hosts' DNS records point at.
	// edgecert creates a Gateway with this selector and one HTTP server on
	// port 80 for the hosts being validated. Default: istio=ingressgateway.
	// +optional
	GatewaySelector map[string]string `json:"gatewaySelector,omitempty"`
	// GatewayName, "<namespace>/<name>", is an existing Gateway with a
	// port-80 HTTP server for the hosts; the VirtualService binds to it
	// and no Gateway is created.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +optional
	GatewayName string `json:"gatewayName,omitempty"`
	// SolverService is the Service in front of edgecert's HTTP-01 listener
	// (--http01-bind-address).
	// +required
	SolverService ServiceReference `json:"solverService"`
	// PropagationDelay is how long the new route is given to reach the
	// gateway pods before the CA is told to validate. Default: 2s.
	// +optional
	PropagationDelay *metav1.Duration `json:"propagationDelay,omitempty"`
}

// ServiceReference names a Service port.
type ServiceReference struct {
	// Name of the Service.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
	// Namespace of the Service.
	// +kubebuilder:validation:MinLength=1
	// +required
	Namespace string `json:"namespace"`
	// Port of the Service.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +required
	Port int32 `json:"port"`
}

// DNS01Solver publishes _acme-challenge TXT records with one provider.
// +kubebuilder:validation:XValidation:rule="has(self.rfc2136) != has(self.route53)",message="exactly one DNS provider (rfc2136, route53) must be set"
type DNS01Solver struct {
	// RFC2136 sends dynamic DNS updates signed with TSIG (BIND, Knot,
	// PowerDNS, Windows DNS).
	// +optional
	RFC2136 *RFC2136Provider `json:"rfc2136,omitempty"`
	// Route53 uses AWS Route 53.
	// +optional
	Route53 *Route53Provider `json:"route53,omitempty"`
	// Nameservers, host:port, are asked before the CA is told to validate,
	// to check that the record is visible. Default: the zone's
	// authoritative servers, found through the system resolver.
	// +optional
	Nameservers []string `json:"nameservers,omitempty"`
}

// RFC2136Provider is a DNS server that takes TSIG-signed updates.
type RFC2136Provider struct {
	// Nameserver is host:port of the primary server.
	// +required
	Nameserver string `json:"nameserver"`
	// TSIGKeyName is the key's name as the server knows it.
	// +required
	TSIGKeyName string `json:"tsigKeyName"`
	// TSIGAlgorithm is HMACSHA256 (default), HMACSHA512 or HMACSHA1.
	// +kubebuilder:validation:Enum=HMACSHA1;HMACSHA256;HMACSHA512
	// +kubebuilder:default=HMACSHA256
	// +optional
	TSIGAlgorithm string `json:"tsigAlgorithm,omitempty"`
	// TSIGSecretRef holds the base64 TSIG secret.
	// +required
	TSIGSecretRef SecretKeySelector `json:"tsigSecretRef"`
}

// Route53Provider is an AWS Route 53 account.
type Route53Provider struct {
	// Region of the API endpoint; Route 53 is global, us-east-1 is fine.
	// +kubebuilder:default=us-east-1
	// +optional
	Region string `json:"region,omitempty"`
	// HostedZoneID skips the zone lookup when set.
	// +optional
	HostedZoneID string `json:"hostedZoneID,omitempty"`
	// AccessKeyIDSecretRef and SecretAccessKeySecretRef hold static
	// credentials. When unset, the AWS SDK's default chain is used (IRSA,
	// instance profile, environment).
	// +optional
	AccessKeyIDSecretRef *SecretKeySelector `json:"accessKeyIDSecretRef,omitempty"`
	// +optional
	SecretAccessKeySecretRef *SecretKeySelector `json:"secretAccessKeySecretRef,omitempty"`
	// Endpoint overrides the Route 53 API URL (private endpoints, tests).
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
}

// IssuerStatus is what edgecert observed of the account.
type IssuerStatus struct {
	// Conditions: Ready, Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the spec generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// AccountURI is the account's URL at the CA.
	// +optional
	AccountURI string `json:"accountURI,omitempty"`
	// AccountHash identifies the server, email, EAB key id and account key
	// the account was registered with; a change registers again.
	// +optional
	AccountHash string `json:"accountHash,omitempty"`
}

// Issuer is an ACME account usable by Certificates in its namespace.
// +kubebuilder:validation:XValidation:rule="!has(self.spec.allowed) || (!has(self.spec.allowed.namespaces) && !has(self.spec.allowed.namespaceSelector))",message="an Issuer serves only its own namespace: allowed.namespaces and allowed.namespaceSelector are for ClusterIssuers"
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=edgecert,shortName=eiss
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Server",type=string,JSONPath=`.spec.acme.server`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Issuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   IssuerSpec   `json:"spec"`
	Status IssuerStatus `json:"status,omitempty"`
}

// IssuerList is a list of Issuers.
// +kubebuilder:object:root=true
type IssuerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Issuer `json:"items"`
}

// ClusterIssuer is an ACME account usable by Certificates in every
// namespace. Secrets it references live in edgecert's namespace.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=edgecert,shortName=eciss
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Server",type=string,JSONPath=`.spec.acme.server`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterIssuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   IssuerSpec   `json:"spec"`
	Status IssuerStatus `json:"status,omitempty"`
}

// ClusterIssuerList is a list of ClusterIssuers.
// +kubebuilder:object:root=true
type ClusterIssuerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterIssuer `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Issuer{}, &IssuerList{}, &ClusterIssuer{}, &ClusterIssuerList{})
}
