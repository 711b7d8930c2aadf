package testenv_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	istionetworkingapi "istio.io/api/networking/v1"
	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgecert/edgecert/internal/testenv"
)

func istioGateway(ns, name string, servers ...*istionetworkingapi.Server) *istionetworkingv1.Gateway {
	return &istionetworkingv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       istionetworkingapi.Gateway{Selector: map[string]string{"istio": "ingressgateway"}, Servers: servers},
	}
}

func httpServer(name string, hosts ...string) *istionetworkingapi.Server {
	return &istionetworkingapi.Server{Port: &istionetworkingapi.Port{Number: 80, Protocol: "HTTP", Name: name}, Hosts: hosts}
}

func TestIstioValidateAcceptsValidObjects(t *testing.T) {
	gw := istioGateway("apps", "public",
		httpServer("http", "*/a.example.test"),
		&istionetworkingapi.Server{
			Port:  &istionetworkingapi.Port{Number: 443, Protocol: "HTTPS", Name: "https"},
			Hosts: []string{"apps/b.example.test"},
			Tls:   &istionetworkingapi.ServerTLSSettings{Mode: istionetworkingapi.ServerTLSSettings_SIMPLE, CredentialName: "b-tls"},
		})
	vs := &istionetworkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"},
		Spec: istionetworkingapi.VirtualService{Hosts: []string{"a.example.test"}, Gateways: []string{"apps/public"},
			Http: []*istionetworkingapi.HTTPRoute{{Route: []*istionetworkingapi.HTTPRouteDestination{{Destination: &istionetworkingapi.Destination{Host: "web"}}}}}},
	}
	if err := testenv.IstioValidate(gw, vs); err != nil {
		t.Fatalf("IstioValidate = %v, want nil", err)
	}
}

// Istio, not a copy of its rules, refuses these, and says why.
func TestIstioValidateRefusesInvalidGateways(t *testing.T) {
	for name, tc := range map[string]struct {
		gw   *istionetworkingv1.Gateway
		want string
	}{
		"duplicate port names": {
			gw:   istioGateway("apps", "dup", httpServer("http", "*/a.example.test"), httpServer("http", "*/b.example.test")),
			want: "port names in servers must be unique: duplicate name http",
		},
		"short host name": {
			gw:   istioGateway("apps", "short", httpServer("http", "apps/web")),
			want: "short names (non FQDN) are not allowed",
		},
		"https without tls": {
			gw: istioGateway("apps", "notls", &istionetworkingapi.Server{
				Port: &istionetworkingapi.Port{Number: 443, Protocol: "HTTPS", Name: "https"}, Hosts: []string{"*/a.example.test"}}),
			want: "server must have TLS settings for HTTPS/TLS protocols",
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := testenv.IstioValidate(tc.gw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("IstioValidate = %v, want Istio's error containing %q", err, tc.want)
			}
		})
	}
}

// failures is a testing.TB that keeps what the code under test reports
// and its cleanups, so that a test can check that a helper fails a test.
type failures struct {
	testing.TB
	errors   []string
	cleanups []func()
}

func (f *failures) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *failures) Error(args ...any) { f.errors = append(f.errors, fmt.Sprint(args...)) }
func (f *failures) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *failures) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// ValidateIstioObjects judges every version written, not only the last: a
// Gateway briefly made invalid (duplicate port names, which the CRD schema
// lets through) and then repaired fails the test with Istio's message and
// the refused version.
func TestValidateIstioObjectsCatchesAnInvalidVersionInBetween(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	ns := bed.Namespace(t, "istio-validate")
	f := &failures{TB: t}
	bed.ControlPlane.ValidateIstioObjects(f, ns)

	gw := istioGateway(ns, "public", httpServer("http-a", "*/a.example.test"))
	if err := c.Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	gw.Spec.Servers = append(gw.Spec.Servers, httpServer("http-a", "*/b.example.test"))
	if err := c.Update(ctx, gw); err != nil {
		t.Fatal(err)
	}
	invalid := gw.ResourceVersion
	gw.Spec.Servers[1].Port.Name = "http-b"
	if err := c.Update(ctx, gw); err != nil {
		t.Fatal(err)
	}
	if err := testenv.IstioValidate(gw); err != nil {
		t.Fatalf("the repaired Gateway: %v", err)
	}

	f.runCleanups()
	if len(f.errors) != 1 {
		t.Fatalf("reported %d failures, want 1: %q", len(f.errors), f.errors)
	}
	t.Logf("reported: %s", f.errors[0])
	for _, want := range []string{"resourceVersion " + invalid, "duplicate name http-a", "Gateway " + ns + "/public"} {
		if !strings.Contains(f.errors[0], want) {
			t.Errorf("failure %q does not contain %q", f.errors[0], want)
		}
	}
}

// Valid objects, including deleted ones, pass without a report.
func TestValidateIstioObjectsPassesValidVersions(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	ns := bed.Namespace(t, "istio-validate")
	f := &failures{TB: t}
	bed.ControlPlane.ValidateIstioObjects(f, ns)
	gw := istioGateway(ns, "public", httpServer("http", "*/a.example.test"))
	if err := c.Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, gw); err != nil {
		t.Fatal(err)
	}
	f.runCleanups()
	if len(f.errors) != 0 {
		t.Fatalf("reported %q for valid Gateways", f.errors)
	}
}
