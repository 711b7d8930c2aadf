package ingress

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// listener is a Gateway API listener; mode "" leaves tls.mode unset, and
// no refs and no mode leave tls out.
func listener(name string, protocol gatewayv1.ProtocolType, hostname string, mode gatewayv1.TLSModeType, refs ...gatewayv1.SecretObjectReference) gatewayv1.Listener {
	l := gatewayv1.Listener{Name: gatewayv1.SectionName(name), Port: 443, Protocol: protocol}
	if hostname != "" {
		h := gatewayv1.Hostname(hostname)
		l.Hostname = &h
	}
	if mode != "" || len(refs) > 0 {
		l.TLS = &gatewayv1.ListenerTLSConfig{CertificateRefs: refs}
		if mode != "" {
			l.TLS.Mode = &mode
		}
	}
	return l
}

// secretRef is a certificateRef as a user writes it: group, kind and
// namespace unset.
func secretRef(name string) gatewayv1.SecretObjectReference {
	return gatewayv1.SecretObjectReference{Name: gatewayv1.ObjectName(name)}
}

// secretRefIn is a certificateRef to another namespace.
func secretRefIn(namespace, name string) gatewayv1.SecretObjectReference {
	ref := secretRef(name)
	ns := gatewayv1.Namespace(namespace)
	ref.Namespace = &ns
	return ref
}

// typedRef is a certificateRef with group and kind set.
func typedRef(group, kind, name string) gatewayv1.SecretObjectReference {
	ref := secretRef(name)
	g, k := gatewayv1.Group(group), gatewayv1.Kind(kind)
	ref.Group, ref.Kind = &g, &k
	return ref
}

func gatewayAPIGateway(annotations map[string]string, listeners ...gatewayv1.Listener) *gatewayv1.Gateway {
	return &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web", Annotations: annotations},
		Spec:       gatewayv1.GatewaySpec{GatewayClassName: "istio", Listeners: listeners},
	}
}

// fromGateways is a grant's from entry for Gateways of namespace.
func fromGateways(namespace string) gatewayv1beta1.ReferenceGrantFrom {
	return gatewayv1beta1.ReferenceGrantFrom{Group: gatewayv1.GroupName, Kind: "Gateway", Namespace: gatewayv1.Namespace(namespace)}
}

// toSecret is a grant's to entry for Secret name; "" for every Secret
// (name unset).
func toSecret(name string) gatewayv1beta1.ReferenceGrantTo {
	to := gatewayv1beta1.ReferenceGrantTo{Group: "", Kind: "Secret"}
	if name != "" {
		n := gatewayv1.ObjectName(name)
		to.Name = &n
	}
	return to
}

func grant(namespace string, from gatewayv1beta1.ReferenceGrantFrom, to gatewayv1beta1.ReferenceGrantTo) gatewayv1beta1.ReferenceGrant {
	return gatewayv1beta1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "gateways"},
		Spec:       gatewayv1beta1.ReferenceGrantSpec{From: []gatewayv1beta1.ReferenceGrantFrom{from}, To: []gatewayv1beta1.ReferenceGrantTo{to}},
	}
}

func cert(namespace, secret string, hosts ...string) Certificate {
	return Certificate{Namespace: namespace, Name: secret, Spec: edgecertv1alpha1.CertificateSpec{DNSNames: hosts, SecretName: secret, IssuerRef: clusterLE}}
}

func TestGatewayAPICertificates(t *testing.T) {
	https, tls, http := gatewayv1.HTTPSProtocolType, gatewayv1.TLSProtocolType, gatewayv1.HTTPProtocolType
	terminate, passthrough := gatewayv1.TLSModeTerminate, gatewayv1.TLSModePassthrough
	// webInCerts names the Secret certs/web-tls; the Gateway is in apps.
	webInCerts := gatewayAPIGateway(nil, listener("https", https, "web.example.com", "", secretRefIn("certs", "web-tls")))
	refusedWeb := []RefusedRef{{GatewayNamespace: "apps", Namespace: "certs", Name: "web-tls", Listeners: []string{"https"}}}
	grantedWeb := []Certificate{cert("certs", "web-tls", "web.example.com")}
	tests := map[string]struct {
		gw      *gatewayv1.Gateway
		grants  []gatewayv1beta1.ReferenceGrant
		want    GatewayAPIResult
		wantErr string
	}{
		"HTTPS and TLS Terminate listeners; HTTP, Passthrough and no hostname skipped": {
			gw: gatewayAPIGateway(nil,
				listener("http", http, "shop.example.com", ""),
				listener("https", https, "Shop.example.com", "", secretRef("shop-tls")),
				listener("tls", tls, "db.example.com", terminate, secretRef("db-tls")),
				listener("tls-default", tls, "raw.example.com", "", secretRef("raw-tls")),
				listener("passthrough", tls, "pass.example.com", passthrough, secretRef("pass-tls")),
				listener("no-hostname", https, "", "", secretRef("any-tls")),
				listener("tcp", gatewayv1.TCPProtocolType, "", ""),
				listener("wildcard", https, "*.example.com", terminate, secretRef("wild-tls")),
			),
			want: GatewayAPIResult{Certificates: []Certificate{
				cert("apps", "shop-tls", "shop.example.com"),
				cert("apps", "db-tls", "db.example.com"),
				cert("apps", "raw-tls", "raw.example.com"),
				cert("apps", "wild-tls", "*.example.com"),
			}},
		},
		"listeners sharing a Secret merge hosts": {
			gw: gatewayAPIGateway(nil,
				listener("a", https, "a.example.com", "", secretRef("shared")),
				listener("b", https, "b.example.com", "", secretRef("shared")),
				listener("a-tls", tls, "a.example.com", terminate, secretRef("shared")),
			),
			want: GatewayAPIResult{Certificates: []Certificate{cert("apps", "shared", "a.example.com", "b.example.com")}},
		},
		"a listener with two Secrets gets two Certificates": {
			gw:   gatewayAPIGateway(nil, listener("https", https, "a.example.com", "", secretRef("a-rsa"), secretRef("a-ecdsa"))),
			want: GatewayAPIResult{Certificates: []Certificate{cert("apps", "a-rsa", "a.example.com"), cert("apps", "a-ecdsa", "a.example.com")}},
		},
		"only core Secrets count": {
			gw: gatewayAPIGateway(nil, listener("https", https, "a.example.com", "",
				typedRef("example.com", "Certificate", "a-cert"),
				typedRef("", "ConfigMap", "a-cm"),
				typedRef("", "Secret", "a-tls"),
			)),
			want: GatewayAPIResult{Certificates: []Certificate{cert("apps", "a-tls", "a.example.com")}},
		},
		"the Gateway's own namespace named explicitly needs no grant": {
			gw:   gatewayAPIGateway(nil, listener("https", https, "a.example.com", "", secretRefIn("apps", "a-tls"))),
			want: GatewayAPIResult{Certificates: []Certificate{cert("apps", "a-tls", "a.example.com")}},
		},
		"cross-namespace without a grant is refused": {
			gw: webInCerts, want: GatewayAPIResult{Refused: refusedWeb},
		},
		"cross-namespace with a grant for that Secret": {
			gw: webInCerts, grants: []gatewayv1beta1.ReferenceGrant{grant("certs", fromGateways("apps"), toSecret("web-tls"))},
			want: GatewayAPIResult{Certificates: grantedWeb},
		},
		"cross-namespace with a grant for every Secret": {
			gw: webInCerts, grants: []gatewayv1beta1.ReferenceGrant{grant("certs", fromGateways("apps"), toSecret(""))},
			want: GatewayAPIResult{Certificates: grantedWeb},
		},
		"cross-namespace with a grant whose to name is empty": {
			gw: webInCerts, grants: func() []gatewayv1beta1.ReferenceGrant {
				to := toSecret("")
				empty := gatewayv1.ObjectName("")
				to.Name = &empty
				return []gatewayv1beta1.ReferenceGrant{grant("certs", fromGateways("apps"), to)}
			}(),
			want: GatewayAPIResult{Certificates: grantedWeb},
		},
		"one matching from and to among others": {
			gw: webInCerts, grants: []gatewayv1beta1.ReferenceGrant{{
				ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: "many"},
				Spec: gatewayv1beta1.ReferenceGrantSpec{
					From: []gatewayv1beta1.ReferenceGrantFrom{fromGateways("other"), fromGateways("apps")},
					To:   []gatewayv1beta1.ReferenceGrantTo{toSecret("other-tls"), toSecret("web-tls")},
				},
			}},
			want: GatewayAPIResult{Certificates: grantedWeb},
		},
		"grant for another Secret": {
			gw: webInCerts, grants: []gatewayv1beta1.ReferenceGrant{grant("certs", fromGateways("apps"), toSecret("other-tls"))},
			want: GatewayAPIResult{Refused: refusedWeb},
		},
		"grant from another namespace": {
			gw: webInCerts, grants: []gatewayv1beta1.ReferenceGrant{grant("certs", fromGateways("other"), toSecret("web-tls"))},
			want: GatewayAPIResult{Refused: refusedWeb},
		},
		"grant from HTTPRoutes": {
			gw: webInCerts, grants: []gatewayv1beta1.ReferenceGrant{grant("certs",
				gatewayv1beta1.ReferenceGrantFrom{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: "apps"}, toSecret("web-tls"))},
			want: GatewayAPIResult{Refused: refusedWeb},
		},
		"grant from another group's Gateway": {
			gw: webInCerts, grants: []gatewayv1beta1.ReferenceGrant{grant("certs",
				gatewayv1beta1.ReferenceGrantFrom{Group: "networking.istio.io", Kind: "Gateway", Namespace: "apps"}, toSecret("web-tls"))},
			want: GatewayAPIResult{Refused: refusedWeb},
		},
		"grant to ConfigMaps": {
			gw: webInCerts, grants: []gatewayv1beta1.ReferenceGrant{grant("certs", fromGateways("apps"),
				gatewayv1beta1.ReferenceGrantTo{Group: "", Kind: "ConfigMap"})},
			want: GatewayAPIResult{Refused: refusedWeb},
		},
		"grant in the Gateway's namespace, not the Secret's": {
			gw: webInCerts, grants: []gatewayv1beta1.ReferenceGrant{grant("apps", fromGateways("apps"), toSecret("web-tls"))},
			want: GatewayAPIResult{Refused: refusedWeb},
		},
		"a refused Secret named by two listeners is reported once; a same-named local Secret is unaffected": {
			gw: gatewayAPIGateway(nil,
				listener("a", https, "a.example.com", "", secretRefIn("certs", "web-tls")),
				listener("b", tls, "b.example.com", terminate, secretRefIn("certs", "web-tls")),
				listener("c", https, "c.example.com", "", secretRef("web-tls")),
			),
			want: GatewayAPIResult{
				Certificates: []Certificate{cert("apps", "web-tls", "c.example.com")},
				Refused:      []RefusedRef{{GatewayNamespace: "apps", Namespace: "certs", Name: "web-tls", Listeners: []string{"a", "b"}}},
			},
		},
		"renew-before annotation": {
			gw: gatewayAPIGateway(map[string]string{RenewBeforeAnnotation: "720h"}, listener("https", https, "a.example.com", "", secretRef("a-tls"))),
			want: GatewayAPIResult{Certificates: []Certificate{{Namespace: "apps", Name: "a-tls", Spec: edgecertv1alpha1.CertificateSpec{
				DNSNames: []string{"a.example.com"}, SecretName: "a-tls", IssuerRef: clusterLE, RenewBefore: &metav1.Duration{Duration: 720 * time.Hour}}}}},
		},
		"cert-manager's annotations do not apply": {
			gw:   gatewayAPIGateway(map[string]string{CMPrivateKeyAlgorithmAnnotation: "RSA"}, listener("https", https, "a.example.com", "", secretRef("a-tls"))),
			want: GatewayAPIResult{Certificates: []Certificate{cert("apps", "a-tls", "a.example.com")}},
		},
		"bad annotation": {
			gw:      gatewayAPIGateway(map[string]string{PrivateKeyRotationPolicyAnnotation: "Sometimes"}, listener("https", https, "a.example.com", "", secretRef("a-tls"))),
			wantErr: "want Always or Never",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := GatewayAPICertificates(tc.gw, clusterLE, tc.grants, GatewayAPIRoutes{})
			checkResult(t, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestGatewayAPIRefNamespaces(t *testing.T) {
	gw := gatewayAPIGateway(nil,
		gatewayv1.Listener{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType},
		listener("a", gatewayv1.HTTPSProtocolType, "a.example.com", "", secretRef("a-tls"), secretRefIn("certs", "a-tls"), secretRefIn("apps", "b-tls")),
		listener("b", gatewayv1.HTTPSProtocolType, "b.example.com", "", secretRefIn("other", "b-tls"), secretRefIn("certs", "b-tls")),
		listener("pass", gatewayv1.TLSProtocolType, "p.example.com", gatewayv1.TLSModePassthrough, secretRefIn("passthrough", "p-tls")),
		listener("no-hostname", gatewayv1.HTTPSProtocolType, "", "", secretRefIn("nohost", "n-tls")),
	)
	// A listener without hostname counts: attached routes may give it hosts.
	if diff := cmp.Diff([]string{"certs", "other", "nohost"}, GatewayAPIRefNamespaces(gw)); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}
}

func TestRefusedRefString(t *testing.T) {
	tests := map[string]struct {
		ref  RefusedRef
		want string
	}{
		"one listener": {
			ref: RefusedRef{GatewayNamespace: "apps", Namespace: "certs", Name: "web-tls", Listeners: []string{"https"}},
			want: `certificateRef Secret certs/web-tls (listener https): no ReferenceGrant in namespace certs allows it ` +
				`(from group gateway.networking.k8s.io kind Gateway namespace apps, to group "" kind Secret name web-tls or empty); no Certificate for it`,
		},
		"two listeners": {
			ref: RefusedRef{GatewayNamespace: "apps", Namespace: "certs", Name: "web-tls", Listeners: []string{"a", "b"}},
			want: `certificateRef Secret certs/web-tls (listeners a, b): no ReferenceGrant in namespace certs allows it ` +
				`(from group gateway.networking.k8s.io kind Gateway namespace apps, to group "" kind Secret name web-tls or empty); no Certificate for it`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.ref.String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
