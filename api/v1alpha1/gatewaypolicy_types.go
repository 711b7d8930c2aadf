package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GatewayPolicySpec is the platform team's rule book: which Istio Gateway
// serves each traffic type of GatewayServices, and which namespaces may
// claim which hosts. A tenant host that no claim covers is refused.
type GatewayPolicySpec struct {
	// Gateways names the Istio Gateway of each traffic type, at most one
	// per type. A policy without Gateways only claims hosts.
	// +kubebuilder:validation:MaxItems=2
	// +listType=map
	// +listMapKey=trafficType
	// +optional
	Gateways []PolicyGateway `json:"gateways,omitempty"`

	// Claims say which namespaces may use which hosts: in these Gateways,
	// and on every other path to a certificate, a route or a DNS record
	// (Certificates, annotated Ingresses and Gateways). A host is claimed
	// for a namespace when some claim matches the namespace and one of its
	// domains covers the host. Once any GatewayPolicy in the cluster has a
	// claim, hosts no claim covers are refused everywhere
	// (docs/security.md).
	// +kubebuilder:validation:MaxItems=1000
	// +listType=atomic
	// +optional
	Claims []HostClaim `json:"claims,omitempty"`
}

// PolicyGateway is the Istio Gateway that serves one traffic type.
type PolicyGateway struct {
	// TrafficType is ingress or egress.
	// +kubebuilder:validation:Enum=ingress;egress
	// +required
	TrafficType string `json:"trafficType"`
	// Namespace of the Gateway.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Namespace string `json:"namespace"`
	// Name of the Gateway.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Name string `json:"name"`
	// WorkloadNamespace is where the gateway pods run, which is where
	// Istio reads credentialName Secrets; edgecert copies tenants'
	// Secrets there. Defaults to the Gateway's namespace.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	WorkloadNamespace string `json:"workloadNamespace,omitempty"`
	// Selector, when set, lets edgecert create the Gateway with this
	// workload selector if it does not exist; edgecert then deletes it
	// again when its last server goes. Without it the Gateway must exist
	// and GatewayServices wait for it.
	// +optional
	Selector map[string]string `json:"selector,omitempty"`
}

// HostClaim lets some namespaces use some domains.
// +kubebuilder:validation:XValidation:rule="has(self.namespaces) || has(self.namespaceSelector)",message="a claim needs namespaces or namespaceSelector"
type HostClaim struct {
	// Namespaces are namespace names.
	// +kubebuilder:validation:MaxItems=1000
	// +listType=set
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
	// NamespaceSelector matches namespaces by label; {} matches all.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// Domains are covered with everything under them: "shop.example.com"
	// covers shop.example.com, www.shop.example.com and
	// *.shop.example.com. "*" covers every host, and is the only domain
	// that covers the catch-all host "*" of TCP and TLS servers: give it
	// only to the namespaces that may take a whole port.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:Pattern=`^(\*|([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$`
	// +listType=set
	// +required
	Domains []string `json:"domains"`
}

// GatewayPolicy is the cluster-wide rule book for GatewayServices, written
// by the platform team: the Gateway of each traffic type and the hosts each
// namespace may claim. It is not a Gateway API policy attachment.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=edgecert,shortName=gwpol
// +kubebuilder:printcolumn:name="Ingress",type=string,JSONPath=`.spec.gateways[?(@.trafficType=="ingress")].name`
// +kubebuilder:printcolumn:name="Egress",type=string,JSONPath=`.spec.gateways[?(@.trafficType=="egress")].name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type GatewayPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec GatewayPolicySpec `json:"spec"`
}

// GatewayPolicyList is a list of GatewayPolicies.
// +kubebuilder:object:root=true
type GatewayPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GatewayPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&GatewayPolicy{}, &GatewayPolicyList{})
}
