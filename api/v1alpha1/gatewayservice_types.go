package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Traffic types a GatewayService asks for; a GatewayPolicy names the
// Gateway that serves each.
const (
	// TrafficTypeIngress is traffic entering the mesh.
	TrafficTypeIngress = "ingress"
	// TrafficTypeEgress is traffic leaving the mesh through an egress gateway.
	TrafficTypeEgress = "egress"
)

// GatewayServiceSpec is one server block for a platform-owned Istio
// Gateway: which hosts, on which port and protocol, and how TLS is done.
// The API server refuses the combinations istiod refuses (TLS on a plain
// HTTP port, HTTPS without TLS settings, two credential sources).
//
// +kubebuilder:validation:XValidation:rule="(self.protocol in ['HTTPS', 'TLS']) == has(self.tls)",message="tls is required for HTTPS and TLS servers and not allowed for other protocols"
// +kubebuilder:validation:XValidation:rule="!has(self.httpsRedirect) || !self.httpsRedirect || self.protocol == 'HTTP'",message="httpsRedirect is only allowed on HTTP servers"
// +kubebuilder:validation:XValidation:rule="!self.hosts.exists(h, h == '*') || self.protocol in ['TCP', 'TLS']",message="host \"*\" is only allowed on TCP and TLS servers"
// +kubebuilder:validation:XValidation:rule="!self.hosts.exists(h, h == '*') || !has(self.tls) || !has(self.tls.issuerRef)",message="host \"*\" cannot have a certificate from issuerRef (no CA issues one for \"*\"); use secretRef, secretPath or PASSTHROUGH"
type GatewayServiceSpec struct {
	// TrafficType chooses the Gateway, through the GatewayPolicy:
	// ingress (default) or egress.
	// +kubebuilder:validation:Enum=ingress;egress
	// +kubebuilder:default=ingress
	// +optional
	TrafficType string `json:"trafficType,omitempty"`

	// Hosts are the DNS names served, lower case; a "*." prefix makes a
	// wildcard. "*" alone (every host: "<namespace>/*" in the Gateway) is
	// allowed on TCP and TLS servers, where Istio routes the whole port
	// or every SNI, and not with issuerRef (no CA issues a certificate
	// for "*"). Every host must be claimed for this namespace by a
	// GatewayPolicy ("*" only by a claim of the domain "*"). In the
	// Gateway they become "<namespace>/<host>", so only this namespace's
	// VirtualServices bind to the server.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^(\*|(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$`
	// +listType=set
	// +required
	Hosts []string `json:"hosts"`

	// Port is the port number the gateway listens on.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +required
	Port int32 `json:"port"`

	// Protocol is what the port speaks.
	// +kubebuilder:validation:Enum=HTTP;HTTPS;GRPC;HTTP2;MONGO;TCP;TLS
	// +required
	Protocol string `json:"protocol"`

	// HTTPSRedirect makes an HTTP server answer every request with a 301
	// to HTTPS. HTTP servers only.
	// +optional
	HTTPSRedirect bool `json:"httpsRedirect,omitempty"`

	// TLS is required for HTTPS and TLS servers and refused for others.
	// +optional
	TLS *GatewayServiceTLS `json:"tls,omitempty"`
}

// GatewayServiceTLS is how the server does TLS: the mode, the protocol
// versions, and exactly one source of the server certificate (none for
// PASSTHROUGH).
//
// +kubebuilder:validation:XValidation:rule="(has(self.mode) && self.mode == 'PASSTHROUGH') ? !has(self.secretRef) && !has(self.issuerRef) && !has(self.secretPath) : (has(self.secretRef) ? 1 : 0) + (has(self.issuerRef) ? 1 : 0) + (has(self.secretPath) ? 1 : 0) == 1",message="SIMPLE and MUTUAL need exactly one of secretRef, issuerRef and secretPath; PASSTHROUGH takes none"
// +kubebuilder:validation:XValidation:rule="!has(self.clientCASecretRef) || (has(self.mode) && self.mode == 'MUTUAL' && !has(self.secretPath))",message="clientCASecretRef is only for MUTUAL with secretRef or issuerRef"
// +kubebuilder:validation:XValidation:rule="!has(self.mode) || self.mode != 'MUTUAL' || !has(self.issuerRef) || has(self.clientCASecretRef)",message="MUTUAL with issuerRef needs clientCASecretRef: an ACME CA does not issue client CAs"
// +kubebuilder:validation:XValidation:rule="!has(self.mode) || self.mode != 'MUTUAL' || !has(self.secretPath) || (has(self.secretPath.caCertificates) && size(self.secretPath.caCertificates) > 0)",message="MUTUAL with secretPath needs secretPath.caCertificates"
// +kubebuilder:validation:XValidation:rule="!has(self.minProtocolVersion) || !has(self.maxProtocolVersion) || self.minProtocolVersion <= self.maxProtocolVersion",message="minProtocolVersion must not be above maxProtocolVersion"
type GatewayServiceTLS struct {
	// Mode is SIMPLE (default: the gateway terminates TLS), MUTUAL (it
	// also asks clients for a certificate) or PASSTHROUGH (the gateway
	// routes on SNI and the workload terminates TLS).
	// +kubebuilder:validation:Enum=SIMPLE;PASSTHROUGH;MUTUAL
	// +kubebuilder:default=SIMPLE
	// +optional
	Mode string `json:"mode,omitempty"`

	// MinProtocolVersion and MaxProtocolVersion bound the TLS versions
	// offered; Istio's defaults apply when unset.
	// +kubebuilder:validation:Enum=TLSV1_0;TLSV1_1;TLSV1_2;TLSV1_3
	// +optional
	MinProtocolVersion string `json:"minProtocolVersion,omitempty"`
	// +kubebuilder:validation:Enum=TLSV1_0;TLSV1_1;TLSV1_2;TLSV1_3
	// +optional
	MaxProtocolVersion string `json:"maxProtocolVersion,omitempty"`

	// SecretRef names an existing kubernetes.io/tls Secret in this
	// namespace. It must parse, its key must match its certificate and
	// the certificate must cover every host, or no server is added.
	// edgecert copies it to the gateway workload namespace and keeps the
	// copy in sync.
	// +optional
	SecretRef *LocalSecretReference `json:"secretRef,omitempty"`

	// IssuerRef makes edgecert request a Certificate for the hosts from
	// this Issuer (in this namespace) or ClusterIssuer; the server is added
	// once the certificate is issued.
	// +optional
	IssuerRef *IssuerReference `json:"issuerRef,omitempty"`

	// SecretPath names files mounted in the gateway pods (legacy, without
	// SDS). edgecert cannot check them.
	// +optional
	SecretPath *TLSSecretPath `json:"secretPath,omitempty"`

	// ClientCASecretRef names a Secret in this namespace whose ca.crt
	// holds the CAs client certificates must chain to (MUTUAL). With
	// secretRef and no clientCASecretRef, the ca.crt of that Secret is
	// used.
	// +optional
	ClientCASecretRef *LocalSecretReference `json:"clientCASecretRef,omitempty"`
}

// TLSSecretPath are absolute paths of PEM files inside the gateway pods.
type TLSSecretPath struct {
	// ServerCertificate is the certificate chain file.
	// +kubebuilder:validation:Pattern=`^/`
	// +required
	ServerCertificate string `json:"serverCertificate"`
	// PrivateKey is the key file.
	// +kubebuilder:validation:Pattern=`^/`
	// +required
	PrivateKey string `json:"privateKey"`
	// CACertificates is the client CA file (MUTUAL).
	// +kubebuilder:validation:Pattern=`^/`
	// +optional
	CACertificates string `json:"caCertificates,omitempty"`
}

// GatewayServiceStatus says where the server landed and under which
// names, or why it did not.
type GatewayServiceStatus struct {
	// Conditions: Ready, Reconciling, Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the spec generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Gateway is the Istio Gateway ("namespace/name") that holds the
	// server.
	// +optional
	Gateway string `json:"gateway,omitempty"`
	// PortName is the server's port name in the Gateway,
	// "<protocol>-<name>-<namespace>".
	// +optional
	PortName string `json:"portName,omitempty"`
	// CredentialName is the Secret, in the gateway workload namespace,
	// that the server's credentialName names.
	// +optional
	CredentialName string `json:"credentialName,omitempty"`
	// Hosts are the server's hosts as written ("namespace/host").
	// +optional
	// +listType=atomic
	Hosts []string `json:"hosts,omitempty"`
	// CertificateName is the Certificate edgecert made for issuerRef.
	// +optional
	CertificateName string `json:"certificateName,omitempty"`
}

// GatewayService is one tenant server block in a shared Istio Gateway.
// edgecert checks it against the GatewayPolicy and the other tenants,
// provisions its TLS Secret, and writes only its own server.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=edgecert,shortName=gwsvc
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Protocol",type=string,JSONPath=`.spec.protocol`
// +kubebuilder:printcolumn:name="Port",type=integer,JSONPath=`.spec.port`
// +kubebuilder:printcolumn:name="Gateway",type=string,JSONPath=`.status.gateway`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Port Name",type=string,JSONPath=`.status.portName`,priority=1
// +kubebuilder:printcolumn:name="Credential",type=string,JSONPath=`.status.credentialName`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type GatewayService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   GatewayServiceSpec   `json:"spec"`
	Status GatewayServiceStatus `json:"status,omitempty"`
}

// GatewayServiceList is a list of GatewayServices.
// +kubebuilder:object:root=true
type GatewayServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GatewayService `json:"items"`
}

func init() {
	SchemeBuilder.Register(&GatewayService{}, &GatewayServiceList{})
}
