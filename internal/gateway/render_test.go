package gateway

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

func TestRender(t *testing.T) {
	for name, tc := range map[string]struct {
		spec edgecertv1alpha1.GatewayServiceSpec
		want Server
	}{
		"http": {
			spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"shop.example.com"}, Port: 80, Protocol: "HTTP"},
			want: Server{Port: Port{Number: 80, Protocol: "HTTP", Name: "http-shop-team-a"}, Hosts: []string{"team-a/shop.example.com"}},
		},
		"http redirect": {
			spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"shop.example.com"}, Port: 80, Protocol: "HTTP", HTTPSRedirect: true},
			want: Server{Port: Port{Number: 80, Protocol: "HTTP", Name: "http-shop-team-a"}, Hosts: []string{"team-a/shop.example.com"}, TLS: &ServerTLS{HTTPSRedirect: true}},
		},
		"https secretRef": {
			spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"shop.example.com", "*.shop.example.com"}, Port: 443, Protocol: "HTTPS",
				TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "SIMPLE", MinProtocolVersion: "TLSV1_2", SecretRef: &edgecertv1alpha1.LocalSecretReference{Name: "shop-tls"}}},
			want: Server{Port: Port{Number: 443, Protocol: "HTTPS", Name: "https-shop-team-a"}, Hosts: []string{"team-a/shop.example.com", "team-a/*.shop.example.com"},
				TLS: &ServerTLS{Mode: "SIMPLE", CredentialName: "team-a.shop", MinProtocolVersion: "TLSV1_2"}},
		},
		"mutual issuerRef": {
			spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"shop.example.com"}, Port: 443, Protocol: "HTTPS",
				TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "MUTUAL", IssuerRef: &edgecertv1alpha1.IssuerReference{Name: "le"}}},
			want: Server{Port: Port{Number: 443, Protocol: "HTTPS", Name: "https-shop-team-a"}, Hosts: []string{"team-a/shop.example.com"},
				TLS: &ServerTLS{Mode: "MUTUAL", CredentialName: "team-a.shop"}},
		},
		"tls passthrough": {
			spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"db.example.com"}, Port: 15443, Protocol: "TLS", TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "PASSTHROUGH"}},
			want: Server{Port: Port{Number: 15443, Protocol: "TLS", Name: "tls-shop-team-a"}, Hosts: []string{"team-a/db.example.com"}, TLS: &ServerTLS{Mode: "PASSTHROUGH"}},
		},
		"secretPath mutual": {
			spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"shop.example.com"}, Port: 443, Protocol: "HTTPS",
				TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "MUTUAL", SecretPath: &edgecertv1alpha1.TLSSecretPath{ServerCertificate: "/etc/c.pem", PrivateKey: "/etc/k.pem", CACertificates: "/etc/ca.pem"}}},
			want: Server{Port: Port{Number: 443, Protocol: "HTTPS", Name: "https-shop-team-a"}, Hosts: []string{"team-a/shop.example.com"},
				TLS: &ServerTLS{Mode: "MUTUAL", ServerCertificate: "/etc/c.pem", PrivateKey: "/etc/k.pem", CACertificates: "/etc/ca.pem"}},
		},
		"grpc": {
			spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"api.example.com"}, Port: 8080, Protocol: "GRPC"},
			want: Server{Port: Port{Number: 8080, Protocol: "GRPC", Name: "grpc-shop-team-a"}, Hosts: []string{"team-a/api.example.com"}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := Render("team-a", "shop", tc.spec, "team-a.shop")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Render (-want +got):\n%s", diff)
			}
			if err := ValidateServer(got); err != nil {
				t.Errorf("rendered server fails istiod's checks: %v", err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	if got := PortName("HTTPS", "shop", "team-a"); got != "https-shop-team-a" {
		t.Errorf("PortName = %q", got)
	}
	if got := CredentialName("team-a", "shop"); got != "team-a.shop" {
		t.Errorf("CredentialName = %q", got)
	}
	long := CredentialName("team-a", strings.Repeat("x", 250))
	if len(long) > 253 || long == CredentialName("team-a", strings.Repeat("x", 251)) {
		t.Errorf("long CredentialName %q (%d) is too long or not unique", long, len(long))
	}
	if got := CertificateName("shop"); got != "shop-gateway-tls" {
		t.Errorf("CertificateName = %q", got)
	}
	if got := CertificateName(strings.Repeat("y", 253)); len(got) > 253 {
		t.Errorf("long CertificateName has %d characters", len(got))
	}
}
