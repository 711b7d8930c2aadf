package gateway

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/edgecert/edgecert/internal/testenv"
)

// gatewayObject is an Istio Gateway holding servers as edgecert writes
// them (Server.Entry), for Istio to judge.
func gatewayObject(servers ...Server) *unstructured.Unstructured {
	entries := make([]any, len(servers))
	for i, s := range servers {
		entries[i] = s.Entry()
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1",
		"kind":       "Gateway",
		"metadata":   map[string]any{"namespace": "istio-system", "name": "public"},
		"spec":       map[string]any{"selector": map[string]any{"istio": "ingressgateway"}, "servers": entries},
	}}
}

func TestValidateServer(t *testing.T) {
	good := func() Server {
		return Server{Port: Port{Number: 443, Protocol: "HTTPS", Name: "https-a-b"}, Hosts: []string{"b/a.example.com"}, TLS: &ServerTLS{Mode: "SIMPLE", CredentialName: "b.a"}}
	}
	for name, tc := range map[string]struct {
		edit func(*Server)
		want string // "" for valid
	}{
		"https with credential":    {edit: func(*Server) {}},
		"no hosts":                 {edit: func(s *Server) { s.Hosts = nil }, want: "at least one host"},
		"bad host":                 {edit: func(s *Server) { s.Hosts = []string{"b/a"} }, want: "short names"},
		"unknown protocol":         {edit: func(s *Server) { s.Port.Protocol = "QUIC" }, want: "invalid protocol"},
		"port 0":                   {edit: func(s *Server) { s.Port.Number = 0 }, want: "range 1..65535"},
		"port too big":             {edit: func(s *Server) { s.Port.Number = 70000 }, want: "range 1..65535"},
		"no port name":             {edit: func(s *Server) { s.Port.Name = "" }, want: "port name must be set"},
		"https without tls":        {edit: func(s *Server) { s.TLS = nil }, want: "must have TLS settings"},
		"tls without tls":          {edit: func(s *Server) { s.Port.Protocol = "TLS"; s.TLS = nil }, want: "must have TLS settings"},
		"http with redirect":       {edit: func(s *Server) { s.Port.Protocol = "HTTP"; s.TLS = &ServerTLS{HTTPSRedirect: true} }},
		"http with credential":     {edit: func(s *Server) { s.Port.Protocol = "HTTP"; s.TLS.CredentialName = "x" }, want: "plain text HTTP"},
		"http with files":          {edit: func(s *Server) { s.Port.Protocol = "HTTP"; s.TLS = &ServerTLS{ServerCertificate: "/c"} }, want: "plain text HTTP"},
		"tcp with tls":             {edit: func(s *Server) { s.Port.Protocol = "TCP" }, want: "non HTTPS/TLS"},
		"mongo with redirect":      {edit: func(s *Server) { s.Port.Protocol = "MONGO"; s.TLS = &ServerTLS{HTTPSRedirect: true} }, want: "non HTTPS/TLS"},
		"two sources":              {edit: func(s *Server) { s.TLS.ServerCertificate, s.TLS.PrivateKey = "/c", "/k" }, want: "only one of"},
		"simple without cert":      {edit: func(s *Server) { s.TLS.CredentialName = "" }, want: "SIMPLE TLS requires a server certificate"},
		"simple files":             {edit: func(s *Server) { s.TLS = &ServerTLS{Mode: "SIMPLE", ServerCertificate: "/c", PrivateKey: "/k"} }},
		"mutual files without ca":  {edit: func(s *Server) { s.TLS = &ServerTLS{Mode: "MUTUAL", ServerCertificate: "/c", PrivateKey: "/k"} }, want: "client CA bundle"},
		"mutual credential":        {edit: func(s *Server) { s.TLS.Mode = "MUTUAL" }},
		"credentialNames":          {edit: func(s *Server) { s.TLS.CredentialName, s.TLS.CredentialNames = "", []string{"rsa", "ecdsa"} }},
		"credentialName and names": {edit: func(s *Server) { s.TLS.CredentialNames = []string{"rsa"} }, want: "only one of"},
		"passthrough":              {edit: func(s *Server) { s.Port.Protocol = "TLS"; s.TLS = &ServerTLS{Mode: "PASSTHROUGH"} }},
		"lower-case protocol":      {edit: func(s *Server) { s.Port.Protocol = "https" }},
	} {
		t.Run(name, func(t *testing.T) {
			s := good()
			tc.edit(&s)
			err := ValidateServer(s)
			// Istio is the judge: it accepts what the mirror accepts and
			// refuses what the mirror refuses.
			if istioErr := testenv.IstioValidate(gatewayObject(s)); (istioErr == nil) != (tc.want == "") {
				t.Errorf("the mirror and Istio disagree: want %q, Istio says %v", tc.want, istioErr)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ValidateServer = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ValidateServer = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestValidateGateway(t *testing.T) {
	a := Server{Port: Port{Number: 80, Protocol: "HTTP", Name: "http"}, Hosts: []string{"*"}}
	b := Server{Port: Port{Number: 8080, Protocol: "HTTP", Name: "http"}, Hosts: []string{"*/a.example.com"}}
	if err := ValidateGateway([]Server{a}); err != nil {
		t.Errorf("one server: %v", err)
	}
	if err := ValidateGateway([]Server{a, b}); err == nil || !strings.Contains(err.Error(), "duplicate name http") {
		t.Errorf("duplicate port names: %v", err)
	}
	if err := testenv.IstioValidate(gatewayObject(a)); err != nil {
		t.Errorf("Istio refuses one server: %v", err)
	}
	if err := testenv.IstioValidate(gatewayObject(a, b)); err == nil || !strings.Contains(err.Error(), "duplicate name http") {
		t.Errorf("Istio on duplicate port names: %v", err)
	}
	if err := ValidateGateway(nil); err == nil || !strings.Contains(err.Error(), "at least one server") {
		t.Errorf("no servers: %v", err)
	}
}
