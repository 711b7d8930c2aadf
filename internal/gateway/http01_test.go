package gateway

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
)

var solverService = edgecertv1alpha1.ServiceReference{Name: "edgecert-http01", Namespace: "edgecert-system", Port: 8089}

func TestChallengeRouteRendersGatewayAndVirtualService(t *testing.T) {
	r := NewChallengeRoute("istio-system", "web-tls-http01-0", []string{"b.example.com", "a.example.com", "a.example.com"},
		&edgecertv1alpha1.HTTP01IstioRoute{SolverService: solverService})
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	gw := r.GatewaySpec()
	wantGW := map[string]any{
		"selector": map[string]any{"istio": "ingressgateway"},
		"servers": []any{map[string]any{
			"port":  map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http-acme-challenge"},
			"hosts": []any{"istio-system/a.example.com", "istio-system/b.example.com"},
		}},
	}
	if !reflect.DeepEqual(gw, wantGW) {
		t.Errorf("Gateway spec:\n got %v\nwant %v", gw, wantGW)
	}
	vs := r.VirtualServiceSpec()
	wantVS := map[string]any{
		"hosts":    []any{"a.example.com", "b.example.com"},
		"gateways": []any{"istio-system/web-tls-http01-0"},
		"http": []any{map[string]any{
			"name":  "acme-http01",
			"match": []any{map[string]any{"uri": map[string]any{"prefix": "/.well-known/acme-challenge/"}}},
			"route": []any{map[string]any{"destination": map[string]any{
				"host": "edgecert-http01.edgecert-system.svc.cluster.local",
				"port": map[string]any{"number": int64(8089)},
			}}},
		}},
	}
	if !reflect.DeepEqual(vs, wantVS) {
		t.Errorf("VirtualService spec:\n got %v\nwant %v", vs, wantVS)
	}
}

func TestChallengeRouteExistingGatewayAndRedirects(t *testing.T) {
	r := NewChallengeRoute("apps", "web-http01-0", []string{"a.example.com"},
		&edgecertv1alpha1.HTTP01IstioRoute{GatewayName: "istio-system/public", SolverService: solverService})
	r.RedirectGateways = []string{"istio-system/public", "istio-system/https"}
	if r.Selector != nil {
		t.Errorf("selector %v with an existing Gateway", r.Selector)
	}
	if got, want := r.Gateways(), []string{"istio-system/public", "istio-system/https"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Gateways() = %v, want %v", got, want)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	custom := NewChallengeRoute("apps", "x", []string{"a.example.com"},
		&edgecertv1alpha1.HTTP01IstioRoute{GatewaySelector: map[string]string{"app": "edge"}, SolverService: solverService})
	if !reflect.DeepEqual(custom.Selector, map[string]string{"app": "edge"}) {
		t.Errorf("selector = %v", custom.Selector)
	}
}

func TestChallengeRouteValidateRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		route ChallengeRoute
		want  string
	}{
		"wildcard host":           {ChallengeRoute{Namespace: "a", Name: "b", Hosts: []string{"*.example.com"}, Selector: DefaultChallengeSelector, Service: solverService}, "exact names only"},
		"no hosts":                {ChallengeRoute{Namespace: "a", Name: "b", Selector: DefaultChallengeSelector, Service: solverService}, "at least one host"},
		"bad host":                {ChallengeRoute{Namespace: "a", Name: "b", Hosts: []string{"bad_host.example.com"}, Selector: DefaultChallengeSelector, Service: solverService}, "bad_host"},
		"no selector":             {ChallengeRoute{Namespace: "a", Name: "b", Hosts: []string{"a.example.com"}, Service: solverService}, "selector must not be empty"},
		"bad gateway":             {ChallengeRoute{Namespace: "a", Name: "b", Hosts: []string{"a.example.com"}, ExistingGateway: "public", Service: solverService}, `gateway "public"`},
		"dotted gateway name":     {ChallengeRoute{Namespace: "a", Name: "www.example.com-http01-0", Hosts: []string{"a.example.com"}, Selector: DefaultChallengeSelector, Service: solverService}, `invalid gateway name: "www.example.com-http01-0"`},
		"dotted existing gateway": {ChallengeRoute{Namespace: "a", Name: "b", Hosts: []string{"a.example.com"}, ExistingGateway: "istio-system/pub.lic", Service: solverService}, `gateway "istio-system/pub.lic"`},
		"bad port":                {ChallengeRoute{Namespace: "a", Name: "b", Hosts: []string{"a.example.com"}, Selector: DefaultChallengeSelector, Service: edgecertv1alpha1.ServiceReference{Name: "s", Namespace: "n"}}, "port 0"},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.route.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// The route's name is a DNS label, as istiod requires of a Gateway, for
// every Certificate name (a DNS subdomain of up to 253 characters).
func TestChallengeRouteNameIsADNSLabel(t *testing.T) {
	if got := ChallengeRouteName("web", 0); got != "web-http01-0" {
		t.Errorf("ChallengeRouteName = %q", got)
	}
	for _, cert := range []string{"www.example.com", strings.Repeat("a", 253), strings.Repeat("a.", 126) + "a"} {
		name := ChallengeRouteName(cert, 1)
		if !isDNSLabel(name) || name == ChallengeRouteName(cert, 2) {
			t.Errorf("route name %q of %q: not a DNS label or not distinct per solver", name, cert)
		}
		r := NewChallengeRoute("apps", name, []string{"a.example.com"}, &edgecertv1alpha1.HTTP01IstioRoute{SolverService: solverService})
		if err := r.Validate(); err != nil {
			t.Errorf("route of %q: %v", cert, err)
		}
		gw := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
			"metadata": map[string]any{"namespace": "apps", "name": name}, "spec": r.GatewaySpec()}}
		vs := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
			"metadata": map[string]any{"namespace": "apps", "name": name}, "spec": r.VirtualServiceSpec()}}
		if err := testenv.IstioValidate(gw, vs); err != nil {
			t.Errorf("route of %q: %v", cert, err)
		}
	}
	if ChallengeRouteName("a.b", 0) == ChallengeRouteName("a-b", 0) {
		t.Error("a.b and a-b share a route name")
	}
}

func TestHTTPSRedirects(t *testing.T) {
	sel := map[string]string{"istio": "ingressgateway"}
	redirect := func(hosts ...string) Server {
		return Server{Port: Port{Number: 80, Protocol: "HTTP", Name: "http"}, Hosts: hosts, TLS: &ServerTLS{HTTPSRedirect: true}}
	}
	https := func(hosts ...string) Server {
		return Server{Port: Port{Number: 443, Protocol: "HTTPS", Name: "https"}, Hosts: hosts, TLS: &ServerTLS{Mode: "SIMPLE", CredentialName: "c"}}
	}
	plain := Server{Port: Port{Number: 80, Protocol: "HTTP", Name: "http"}, Hosts: []string{"*"}}
	gws := []Gateway{
		{Namespace: "istio-system", Name: "redirect-all", Selector: sel, Servers: []Server{redirect("*"), https("*/a.example.com")}},
		{Namespace: "apps", Name: "app", Selector: sel, Servers: []Server{redirect("./a.example.com"), https("./a.example.com")}},
		{Namespace: "other", Name: "other-ns-only", Selector: sel, Servers: []Server{https("other/a.example.com")}},
		{Namespace: "istio-system", Name: "plain", Selector: sel, Servers: []Server{plain}},
		{Namespace: "istio-system", Name: "internal", Selector: map[string]string{"istio": "internal"}, Servers: []Server{redirect("*"), https("*")}},
		{Namespace: "istio-system", Name: "wildcard", Selector: sel, Servers: []Server{redirect("*.b.example.com")}},
	}
	red, tls := HTTPSRedirects(gws, sel, "apps", "a.example.com")
	if want := []string{"istio-system/redirect-all", "apps/app"}; !reflect.DeepEqual(red, want) {
		t.Errorf("redirecting = %v, want %v", red, want)
	}
	if want := []string{"istio-system/redirect-all", "apps/app"}; !reflect.DeepEqual(tls, want) {
		t.Errorf("https = %v, want %v", tls, want)
	}
	red, tls = HTTPSRedirects(gws, sel, "istio-system", "x.b.example.com")
	if want := []string{"istio-system/redirect-all", "istio-system/wildcard"}; !reflect.DeepEqual(red, want) {
		t.Errorf("redirecting = %v, want %v", red, want)
	}
	if tls != nil {
		t.Errorf("https = %v, want none", tls)
	}
	if red, _ := HTTPSRedirects(gws, map[string]string{"istio": "other"}, "apps", "a.example.com"); red != nil {
		t.Errorf("another selector's Gateways counted: %v", red)
	}
}
