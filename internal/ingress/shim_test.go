package ingress

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
)

var (
	clusterLE = edgecertv1alpha1.IssuerReference{Kind: "ClusterIssuer", Name: "letsencrypt"}
	issuerLE  = edgecertv1alpha1.IssuerReference{Kind: "Issuer", Name: "letsencrypt"}
)

func TestIssuerFor(t *testing.T) {
	def := &edgecertv1alpha1.IssuerReference{Kind: "ClusterIssuer", Name: "default"}
	tests := map[string]struct {
		annotations map[string]string
		opts        Options
		want        edgecertv1alpha1.IssuerReference
		wantOK      bool
		wantErr     string
	}{
		"none":                          {annotations: map[string]string{"other": "x"}},
		"edgecert cluster":              {annotations: map[string]string{ClusterIssuerAnnotation: "letsencrypt"}, want: clusterLE, wantOK: true},
		"edgecert namespaced":           {annotations: map[string]string{IssuerAnnotation: "letsencrypt"}, want: issuerLE, wantOK: true},
		"edgecert both":                 {annotations: map[string]string{IssuerAnnotation: "a", ClusterIssuerAnnotation: "b"}, wantErr: "both"},
		"cert-manager without the flag": {annotations: map[string]string{CMClusterIssuerAnnotation: "letsencrypt"}},
		"cert-manager cluster": {annotations: map[string]string{CMClusterIssuerAnnotation: "letsencrypt"}, opts: Options{CertManagerAnnotations: true},
			want: clusterLE, wantOK: true},
		"cert-manager issuer with kind": {annotations: map[string]string{CMIssuerAnnotation: "letsencrypt", CMIssuerKindAnnotation: "ClusterIssuer"},
			opts: Options{CertManagerAnnotations: true}, want: clusterLE, wantOK: true},
		"cert-manager issuer": {annotations: map[string]string{CMIssuerAnnotation: "letsencrypt"}, opts: Options{CertManagerAnnotations: true},
			want: issuerLE, wantOK: true},
		"cert-manager bad kind": {annotations: map[string]string{CMIssuerAnnotation: "x", CMIssuerKindAnnotation: "AWSPCAIssuer"},
			opts: Options{CertManagerAnnotations: true}, wantErr: "want Issuer or ClusterIssuer"},
		"cert-manager external group": {annotations: map[string]string{CMIssuerAnnotation: "x", CMIssuerGroupAnnotation: "awspca.cert-manager.io"},
			opts: Options{CertManagerAnnotations: true}, wantErr: "external issuer"},
		"edgecert wins over cert-manager": {annotations: map[string]string{ClusterIssuerAnnotation: "letsencrypt", CMIssuerAnnotation: "other"},
			opts: Options{CertManagerAnnotations: true}, want: clusterLE, wantOK: true},
		"tls-acme with default": {annotations: map[string]string{TLSACMEAnnotation: "true"}, opts: Options{CertManagerAnnotations: true, DefaultIssuer: def},
			want: *def, wantOK: true},
		"tls-acme without default":  {annotations: map[string]string{TLSACMEAnnotation: "true"}, opts: Options{CertManagerAnnotations: true}},
		"tls-acme without the flag": {annotations: map[string]string{TLSACMEAnnotation: "true"}, opts: Options{DefaultIssuer: def}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok, err := IssuerFor(tc.annotations, tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.wantOK {
				t.Errorf("ok = %v, want %v", ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("issuer (-want +got):\n%s", diff)
			}
		})
	}
}

func server(portName, mode, credential string, hosts ...string) gateway.Server {
	s := gateway.Server{Port: gateway.Port{Number: 443, Protocol: "HTTPS", Name: portName}, Hosts: hosts}
	if mode != "" {
		s.TLS = &gateway.ServerTLS{Mode: mode, CredentialName: credential}
	}
	return s
}

func TestIstioCertificates(t *testing.T) {
	tests := map[string]struct {
		gw          gateway.Gateway
		annotations map[string]string
		want        IstioResult
		wantErr     string
	}{
		"two TLS servers, prefixes stripped": {
			gw: gateway.Gateway{Namespace: "apps", Name: "web", Servers: []gateway.Server{
				server("https-shop", "SIMPLE", "shop-tls", "*/Shop.example.com", "./www.shop.example.com."),
				server("https-api", "MUTUAL", "api-tls", "apps/api.example.com"),
				{Port: gateway.Port{Number: 80, Protocol: "HTTP", Name: "http"}, Hosts: []string{"*/shop.example.com"}},
			}},
			want: IstioResult{Certificates: []Certificate{
				{Namespace: "istio-system", Name: "shop-tls", Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"shop.example.com", "www.shop.example.com"}, SecretName: "shop-tls", IssuerRef: clusterLE}},
				{Namespace: "istio-system", Name: "api-tls", Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"api.example.com"}, SecretName: "api-tls", IssuerRef: clusterLE}},
			}},
		},
		"shared credential merges hosts": {
			gw: gateway.Gateway{Namespace: "apps", Name: "web", Servers: []gateway.Server{
				server("https-a", "SIMPLE", "shared", "a.example.com"),
				server("https-b", "SIMPLE", "shared", "b.example.com", "a.example.com"),
			}},
			want: IstioResult{Certificates: []Certificate{
				{Namespace: "istio-system", Name: "shared", Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"a.example.com", "b.example.com"}, SecretName: "shared", IssuerRef: clusterLE}},
			}},
		},
		"empty credential gets a generated one and a fill": {
			gw: gateway.Gateway{Namespace: "apps", Name: "web", Servers: []gateway.Server{server("HTTPS_Shop", "SIMPLE", "", "shop.example.com")}},
			want: IstioResult{
				Certificates: []Certificate{{Namespace: "istio-system", Name: "apps-web-https-shop-tls", Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"shop.example.com"}, SecretName: "apps-web-https-shop-tls", IssuerRef: clusterLE}}},
				Fills:        []Fill{{PortName: "HTTPS_Shop", SecretName: "apps-web-https-shop-tls"}},
			},
		},
		"left alone: passthrough, ISTIO_MUTUAL, files, several credentials, other namespace, MUTUAL without credential, only * and IPs": {
			gw: gateway.Gateway{Namespace: "apps", Name: "web", Servers: []gateway.Server{
				server("a", "PASSTHROUGH", "", "a.example.com"),
				server("b", "ISTIO_MUTUAL", "", "b.example.com"),
				{Port: gateway.Port{Name: "c"}, Hosts: []string{"c.example.com"}, TLS: &gateway.ServerTLS{Mode: "SIMPLE", ServerCertificate: "/etc/c.crt", PrivateKey: "/etc/c.key"}},
				{Port: gateway.Port{Name: "d"}, Hosts: []string{"d.example.com"}, TLS: &gateway.ServerTLS{Mode: "SIMPLE", CredentialNames: []string{"d-rsa", "d-ec"}}},
				server("e", "SIMPLE", "other/e-tls", "e.example.com"),
				server("f", "MUTUAL", "", "f.example.com"),
				server("g", "SIMPLE", "", "*", "10.0.0.1"),
				server("h", "SIMPLE", "h-tls", "*/*"),
			}},
			want: IstioResult{},
		},
		"renew-before annotation": {
			gw:          gateway.Gateway{Namespace: "apps", Name: "web", Servers: []gateway.Server{server("https", "SIMPLE", "x", "x.example.com")}},
			annotations: map[string]string{RenewBeforeAnnotation: "720h"},
			want:        IstioResult{Certificates: []Certificate{{Namespace: "istio-system", Name: "x", Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"x.example.com"}, SecretName: "x", IssuerRef: clusterLE, RenewBefore: &metav1.Duration{Duration: 720 * time.Hour}}}}},
		},
		"bad annotation": {
			gw:          gateway.Gateway{Namespace: "apps", Name: "web", Servers: []gateway.Server{server("https", "SIMPLE", "x", "x.example.com")}},
			annotations: map[string]string{PrivateKeyAlgorithmAnnotation: "Ed25519"},
			wantErr:     "want RSA or ECDSA",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := IstioCertificates(tc.gw, tc.annotations, "istio-system", clusterLE)
			checkResult(t, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestGeneratedCredentialName(t *testing.T) {
	long := strings.Repeat("n", 200)
	a := GeneratedCredentialName(long, long, gateway.Port{Name: "https"})
	b := GeneratedCredentialName(long, long, gateway.Port{Name: "https2"})
	if len(a) > 253 || a == b || !strings.HasSuffix(a, "-tls") {
		t.Errorf("long names: %q (%d) and %q must differ, fit 253 and end in -tls", a, len(a), b)
	}
	if got := GeneratedCredentialName("ns", "gw", gateway.Port{Number: 8443}); got != "ns-gw-8443-tls" {
		t.Errorf("unnamed port: %q, want ns-gw-8443-tls", got)
	}
}

func TestWorkloadNamespace(t *testing.T) {
	sel := map[string]string{"istio": "ingressgateway"}
	svc := func(ns string, s map[string]string) ServiceSelector {
		return ServiceSelector{Namespace: ns, Selector: s}
	}
	tests := map[string]struct {
		selector map[string]string
		services []ServiceSelector
		fallback string
		want     string
	}{
		"one service elsewhere":        {selector: sel, services: []ServiceSelector{svc("istio-ingress", map[string]string{"istio": "ingressgateway", "app": "gw"}), svc("other", map[string]string{"app": "x"})}, want: "istio-ingress"},
		"gateway's own namespace wins": {selector: sel, services: []ServiceSelector{svc("istio-ingress", sel), svc("apps", sel)}, want: "apps"},
		"several, fallback":            {selector: sel, services: []ServiceSelector{svc("a", sel), svc("b", sel)}, fallback: "istio-system", want: "istio-system"},
		"several, no fallback":         {selector: sel, services: []ServiceSelector{svc("a", sel), svc("b", sel)}, want: "apps"},
		"none, fallback":               {selector: sel, services: []ServiceSelector{svc("a", map[string]string{"istio": "egressgateway"})}, fallback: "istio-system", want: "istio-system"},
		"empty selector":               {services: []ServiceSelector{svc("a", sel)}, want: "apps"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got, why := WorkloadNamespace("apps", tc.selector, tc.services, tc.fallback); got != tc.want {
				t.Errorf("got %q (%s), want %q", got, why, tc.want)
			}
		})
	}
}

func TestIngressCertificates(t *testing.T) {
	ing := func(ann map[string]string, tls ...networkingv1.IngressTLS) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "demo", Annotations: ann}, Spec: networkingv1.IngressSpec{TLS: tls}}
	}
	cm := Options{CertManagerAnnotations: true}
	tests := map[string]struct {
		ing     *networkingv1.Ingress
		opts    Options
		want    []Certificate
		wantErr string
	}{
		"seed 003": {
			ing:  ing(nil, networkingv1.IngressTLS{Hosts: []string{"demo.example.com"}, SecretName: "demo-example-tls"}),
			want: []Certificate{{Namespace: "apps", Name: "demo-example-tls", Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"demo.example.com"}, SecretName: "demo-example-tls", IssuerRef: clusterLE}}},
		},
		"entries sharing a Secret merge; no secretName or no host skipped": {
			ing: ing(nil,
				networkingv1.IngressTLS{Hosts: []string{"a.example.com"}, SecretName: "s"},
				networkingv1.IngressTLS{Hosts: []string{"B.example.com"}, SecretName: "s"},
				networkingv1.IngressTLS{Hosts: []string{"c.example.com"}},
				networkingv1.IngressTLS{SecretName: "empty"}),
			want: []Certificate{{Namespace: "apps", Name: "s", Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"a.example.com", "b.example.com"}, SecretName: "s", IssuerRef: clusterLE}}},
		},
		"cert-manager key annotations with the flag": {
			ing:  ing(map[string]string{CMPrivateKeyAlgorithmAnnotation: "RSA", CMPrivateKeySizeAnnotation: "3072", CMRenewBeforeAnnotation: "360h"}, networkingv1.IngressTLS{Hosts: []string{"a.example.com"}, SecretName: "s"}),
			opts: cm,
			want: []Certificate{{Namespace: "apps", Name: "s", Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"a.example.com"}, SecretName: "s", IssuerRef: clusterLE,
				RenewBefore: &metav1.Duration{Duration: 360 * time.Hour}, PrivateKey: &edgecertv1alpha1.PrivateKeySpec{Algorithm: "RSA", Size: 3072}}}},
		},
		"cert-manager key annotations without the flag are ignored": {
			ing:  ing(map[string]string{CMPrivateKeyAlgorithmAnnotation: "RSA"}, networkingv1.IngressTLS{Hosts: []string{"a.example.com"}, SecretName: "s"}),
			want: []Certificate{{Namespace: "apps", Name: "s", Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"a.example.com"}, SecretName: "s", IssuerRef: clusterLE}}},
		},
		"edgecert rotation policy": {
			ing:  ing(map[string]string{PrivateKeyRotationPolicyAnnotation: "Never"}, networkingv1.IngressTLS{Hosts: []string{"a.example.com"}, SecretName: "s"}),
			want: []Certificate{{Namespace: "apps", Name: "s", Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"a.example.com"}, SecretName: "s", IssuerRef: clusterLE, PrivateKey: &edgecertv1alpha1.PrivateKeySpec{RotationPolicy: "Never"}}}},
		},
		"bad size": {
			ing:     ing(map[string]string{PrivateKeySizeAnnotation: "1024"}, networkingv1.IngressTLS{Hosts: []string{"a.example.com"}, SecretName: "s"}),
			wantErr: "want one of [256 384] for ECDSA",
		},
		"bad duration": {
			ing:     ing(map[string]string{RenewBeforeAnnotation: "-1h"}, networkingv1.IngressTLS{Hosts: []string{"a.example.com"}, SecretName: "s"}),
			wantErr: "positive duration",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := IngressCertificates(tc.ing, clusterLE, tc.opts)
			checkResult(t, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestLabelValue(t *testing.T) {
	if got := LabelValue("short"); got != "short" {
		t.Errorf("LabelValue(short) = %q", got)
	}
	long := strings.Repeat("a", 100)
	got := LabelValue(long)
	if len(got) > 63 || got == LabelValue(long+"b") {
		t.Errorf("LabelValue(long) = %q: want at most 63 characters, distinct per input", got)
	}
}

// checkResult fails unless err holds wantErr (a substring; "" for none)
// and, when no error is wanted, got equals want.
func checkResult[T any](t *testing.T, got T, err error, want T, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err = %v, want one containing %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestWorkloadNamespaceRefusal(t *testing.T) {
	cluster := edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.ClusterIssuerKind, Name: "le"}
	namespaced := edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.IssuerKind, Name: "team-le"}
	allowed := []string{"istio-system", "istio-ingress"}
	for name, tc := range map[string]struct {
		ws     string
		issuer edgecertv1alpha1.IssuerReference
		want   string
	}{
		"own namespace, namespaced Issuer": {ws: "shop", issuer: namespaced},
		"configured namespace, cluster":    {ws: "istio-ingress", issuer: cluster},
		"configured namespace, namespaced": {ws: "istio-system", issuer: namespaced, want: `the gateway pods run in namespace istio-system: Certificates there need a ClusterIssuer (edgecert.dev/cluster-issuer), not the Issuer "team-le"`},
		"configured namespace, kind unset": {ws: "istio-system", issuer: edgecertv1alpha1.IssuerReference{Name: "team-le"}, want: `the gateway pods run in namespace istio-system: Certificates there need a ClusterIssuer (edgecert.dev/cluster-issuer), not the Issuer "team-le"`},
		"found through the selector only":  {ws: "kube-system", issuer: cluster, want: "the gateway pods this Gateway selects run in namespace kube-system, which is not a workload namespace the platform configured (--istio-gateway-workload-namespace or a GatewayPolicy gateway); no Certificate is made there"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := WorkloadNamespaceRefusal("shop", tc.ws, allowed, tc.issuer); got != tc.want {
				t.Errorf("WorkloadNamespaceRefusal = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSquatsCopyName(t *testing.T) {
	for secret, want := range map[string]bool{
		"shop-tls":        false,
		"shop.web":        false, // the tenant's own copy shape
		"shop.web.v2":     false,
		"blog.web":        true, // another namespace's copy shape
		"shopping.web":    true,
		"www.example.com": true,
	} {
		if got := SquatsCopyName("shop", secret); got != want {
			t.Errorf("SquatsCopyName(shop, %q) = %v, want %v", secret, got, want)
		}
	}
}

func TestParseSource(t *testing.T) {
	for v, want := range map[string]*Source{
		"IstioGateway apps/web": {Kind: "IstioGateway", Namespace: "apps", Name: "web"},
		"Ingress a/b":           {Kind: "Ingress", Namespace: "a", Name: "b"},
		"":                      nil,
		"IstioGateway web":      nil,
		"IstioGateway /web":     nil,
		"IstioGateway apps/":    nil,
		" apps/web":             nil,
	} {
		got, ok := ParseSource(v)
		if (want != nil) != ok || (ok && got != *want) {
			t.Errorf("ParseSource(%q) = %+v, %v; want %+v", v, got, ok, want)
		}
		if ok && got.String() != v {
			t.Errorf("ParseSource(%q).String() = %q", v, got.String())
		}
	}
}

func TestUnsupportedCertManagerAnnotations(t *testing.T) {
	got := UnsupportedCertManagerAnnotations(map[string]string{
		"cert-manager.io/cluster-issuer":            "le",
		"cert-manager.io/renew-before":              "720h",
		"cert-manager.io/private-key-size":          "384",
		"cert-manager.io/duration":                  "2160h",
		"cert-manager.io/common-name":               "shop.example.com",
		"cert-manager.io/revision-history-limit":    "3",
		"cert-manager.io/usages":                    "server auth",
		"acme.cert-manager.io/http01-edit-in-place": "true",
		"kubernetes.io/ingress.class":               "istio",
	})
	want := []string{
		"acme.cert-manager.io/http01-edit-in-place (edgecert answers HTTP-01 from its own listener, or through Istio with http01.istio)",
		"cert-manager.io/common-name (edgecert asks ACME CAs for DNS names only (Let's Encrypt no longer sets a common name))",
		"cert-manager.io/duration (ACME CAs choose the certificate's lifetime)",
		"cert-manager.io/revision-history-limit (edgecert keeps no CertificateRequests to prune)",
		"cert-manager.io/usages (not supported by edgecert)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UnsupportedCertManagerAnnotations (-want +got):\n%s", diff)
	}
	if got := UnsupportedCertManagerAnnotations(map[string]string{"cert-manager.io/issuer": "x"}); got != nil {
		t.Errorf("only supported annotations: got %v, want none", got)
	}
}
