package ingress

import (
	"net/netip"
	"slices"
	"strings"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/names"
)

// Labels and annotation on every Certificate a shim generates. The labels
// find a source's Certificates (to update or delete them); values longer
// than a label allows are shortened with a hash (LabelValue), and the
// annotation keeps the source's full name for people.
const (
	// SourceKindLabel is the source's kind: IstioGateway,
	// GatewayAPIGateway, ListenerSet, XListenerSet, Ingress.
	SourceKindLabel = "edgecert.dev/source-kind"
	// SourceNamespaceLabel is the source's namespace.
	SourceNamespaceLabel = "edgecert.dev/source-namespace"
	// SourceNameLabel is the source's name.
	SourceNameLabel = "edgecert.dev/source-name"
	// SourceAnnotation is "<kind> <namespace>/<name>" of the source.
	SourceAnnotation = "edgecert.dev/source"
)

// Source kinds, as SourceKindLabel holds them.
const (
	// KindIstioGateway is a networking.istio.io Gateway.
	KindIstioGateway = "IstioGateway"
	// KindGatewayAPIGateway is a gateway.networking.k8s.io Gateway. Not
	// "Gateway": Istio's Gateway has that kind too, and the label and
	// the source annotation must tell them apart.
	KindGatewayAPIGateway = "GatewayAPIGateway"
	// KindIngress is a networking.k8s.io Ingress.
	KindIngress = "Ingress"
	// KindListenerSet is a gateway.networking.k8s.io ListenerSet, as
	// ReferenceGrants' from entries name it too.
	KindListenerSet = "ListenerSet"
	// KindXListenerSet is a gateway.networking.x-k8s.io XListenerSet,
	// ListenerSet's experimental name (Gateway API v1.3 and v1.4).
	KindXListenerSet = "XListenerSet"
)

// XGroupName is the group of Gateway API's experimental kinds
// (XListenerSet).
const XGroupName = "gateway.networking.x-k8s.io"

// Source identifies the object a Certificate is generated for.
type Source struct {
	Kind, Namespace, Name string
}

// Labels are the labels that mark a Certificate as generated for s.
func (s Source) Labels() map[string]string {
	return map[string]string{
		SourceKindLabel:      s.Kind,
		SourceNamespaceLabel: LabelValue(s.Namespace),
		SourceNameLabel:      LabelValue(s.Name),
	}
}

// String is "<kind> <namespace>/<name>".
func (s Source) String() string { return s.Kind + " " + s.Namespace + "/" + s.Name }

// ParseSource reads what String wrote (SourceAnnotation's value).
func ParseSource(v string) (Source, bool) {
	kind, ref, ok := strings.Cut(v, " ")
	if !ok {
		return Source{}, false
	}
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || kind == "" || ns == "" || name == "" {
		return Source{}, false
	}
	return Source{Kind: kind, Namespace: ns, Name: name}, true
}

// LabelValue returns v when it fits in a label value (63 characters),
// else a prefix and a hash of v, so that it still identifies v.
func LabelValue(v string) string {
	return names.Fit(v, "", names.MaxLabelValue)
}

// Certificate is one Certificate a source wants. Its name is the Secret's
// name, as cert-manager's ingress-shim names them: two sources that ask
// for one Secret ask for one Certificate, and the second is told of the
// conflict instead of fighting over the Secret.
type Certificate struct {
	Namespace string
	Name      string
	Spec      edgecertv1alpha1.CertificateSpec
}

// certHost turns a host as a source writes it into one a certificate can
// hold: the "namespace/" prefix and a trailing dot stripped, lower case.
// ok is false for what no certificate can name: "*", IP addresses, and
// names that are not valid DNS names.
func certHost(host string) (string, bool) {
	h := gateway.DNSName(host)
	if h == "*" || h == "" {
		return "", false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return "", false
	}
	if gateway.ValidateHost(h) != nil {
		return "", false
	}
	return h, true
}

// secretKey is a Secret's namespace and name.
type secretKey struct{ namespace, name string }

// secretHosts collects, per Secret a source names, the hosts its
// Certificate must cover: Secrets and hosts in first-seen order, hosts
// made certificate-ready (certHost) and without duplicates.
type secretHosts struct {
	hosts map[secretKey][]string
	order []secretKey
}

// add records that the Secret is wanted for hosts (maybe none that a
// certificate can name).
func (s *secretHosts) add(key secretKey, hosts ...string) {
	if s.hosts == nil {
		s.hosts = map[secretKey][]string{}
	}
	list, seen := s.hosts[key]
	if !seen {
		s.order = append(s.order, key)
	}
	for _, h := range hosts {
		if h, ok := certHost(h); ok && !slices.Contains(list, h) {
			list = append(list, h)
		}
	}
	s.hosts[key] = list
}

// of returns the hosts recorded for the Secret.
func (s *secretHosts) of(key secretKey) []string { return s.hosts[key] }

// certificates returns one Certificate per Secret with at least one host,
// named after it, from issuer, with the optional fields the annotations
// set.
func (s *secretHosts) certificates(issuer edgecertv1alpha1.IssuerReference, annotations map[string]string, o Options) ([]Certificate, error) {
	var out []Certificate
	for _, key := range s.order {
		hosts := s.hosts[key]
		if len(hosts) == 0 {
			continue
		}
		spec := edgecertv1alpha1.CertificateSpec{DNSNames: hosts, SecretName: key.name, IssuerRef: issuer}
		if err := specOptions(annotations, o, &spec); err != nil {
			return nil, err
		}
		out = append(out, Certificate{Namespace: key.namespace, Name: key.name, Spec: spec})
	}
	return out, nil
}
