package gateway

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// httpsEntry is a spec.servers entry as the API server returns a
// hand-written HTTPS server, with fields edgecert does not read.
func httpsEntry() map[string]any {
	return map[string]any{
		"port":  map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https", "targetPort": int64(8443)},
		"hosts": []any{"*/a.example.com", "./b.example.com"},
		"tls":   map[string]any{"mode": "SIMPLE", "credentialName": "a-tls", "minProtocolVersion": "TLSV1_2", "cipherSuites": []any{"ECDHE-ECDSA-AES128-GCM-SHA256"}},
	}
}

// withPort is httpsEntry with its port number replaced.
func withPort(number any) map[string]any {
	e := httpsEntry()
	e["port"].(map[string]any)["number"] = number
	return e
}

func TestParseGateway(t *testing.T) {
	for name, tc := range map[string]struct {
		spec    map[string]any
		want    Gateway
		wantErr string
	}{
		"selector and servers, unknown fields ignored": {
			spec: map[string]any{
				"selector": map[string]any{"istio": "ingressgateway", "app": "edge"},
				"servers": []any{
					map[string]any{
						"port":  map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http"},
						"hosts": []any{"*"},
						"tls":   map[string]any{"httpsRedirect": true},
					},
					httpsEntry(),
					map[string]any{
						"port":  map[string]any{"number": int64(8443), "protocol": "HTTPS", "name": "https-mtls"},
						"hosts": []any{"apps/c.example.com"},
						"bind":  "10.0.0.1",
						"tls": map[string]any{"mode": "MUTUAL", "serverCertificate": "/etc/c.crt", "privateKey": "/etc/c.key",
							"caCertificates": "/etc/ca.crt", "maxProtocolVersion": "TLSV1_3"},
					},
					map[string]any{
						"port":  map[string]any{"number": int64(9443), "protocol": "HTTPS", "name": "https-dual"},
						"hosts": []any{"d.example.com"},
						"tls":   map[string]any{"mode": "SIMPLE", "credentialNames": []any{"d-rsa", "d-ec"}},
					},
				},
				"someFutureField": "ignored",
			},
			want: Gateway{
				Namespace: "istio-system", Name: "public",
				Selector: map[string]string{"istio": "ingressgateway", "app": "edge"},
				Servers: []Server{
					{Port: Port{Number: 80, Protocol: "HTTP", Name: "http"}, Hosts: []string{"*"}, TLS: &ServerTLS{HTTPSRedirect: true}},
					{Port: Port{Number: 443, Protocol: "HTTPS", Name: "https"}, Hosts: []string{"*/a.example.com", "./b.example.com"},
						TLS: &ServerTLS{Mode: "SIMPLE", CredentialName: "a-tls", MinProtocolVersion: "TLSV1_2"}},
					{Port: Port{Number: 8443, Protocol: "HTTPS", Name: "https-mtls"}, Hosts: []string{"apps/c.example.com"}, Bind: "10.0.0.1",
						TLS: &ServerTLS{Mode: "MUTUAL", ServerCertificate: "/etc/c.crt", PrivateKey: "/etc/c.key", CACertificates: "/etc/ca.crt", MaxProtocolVersion: "TLSV1_3"}},
					{Port: Port{Number: 9443, Protocol: "HTTPS", Name: "https-dual"}, Hosts: []string{"d.example.com"},
						TLS: &ServerTLS{Mode: "SIMPLE", CredentialNames: []string{"d-rsa", "d-ec"}}},
				},
			},
		},
		"no spec": {
			want: Gateway{Namespace: "istio-system", Name: "public"},
		},
		"empty selector is kept apart from none": {
			spec: map[string]any{"selector": map[string]any{}, "servers": []any{}},
			want: Gateway{Namespace: "istio-system", Name: "public", Selector: map[string]string{}},
		},
		"null fields read as absent": {
			spec: map[string]any{"selector": nil, "servers": []any{
				map[string]any{"port": map[string]any{"number": nil, "protocol": "HTTP", "name": "http"}, "hosts": nil, "tls": nil, "bind": nil},
			}},
			want: Gateway{Namespace: "istio-system", Name: "public", Servers: []Server{{Port: Port{Protocol: "HTTP", Name: "http"}}}},
		},
		"port numbers as int, whole float64 and the uint32 bounds": {
			spec: map[string]any{"servers": []any{withPort(80), withPort(float64(8443)), withPort(int64(0)), withPort(int64(4294967295))}},
			want: Gateway{Namespace: "istio-system", Name: "public", Servers: []Server{
				{Port: Port{Number: 80, Protocol: "HTTPS", Name: "https"}, Hosts: []string{"*/a.example.com", "./b.example.com"}, TLS: &ServerTLS{Mode: "SIMPLE", CredentialName: "a-tls", MinProtocolVersion: "TLSV1_2"}},
				{Port: Port{Number: 8443, Protocol: "HTTPS", Name: "https"}, Hosts: []string{"*/a.example.com", "./b.example.com"}, TLS: &ServerTLS{Mode: "SIMPLE", CredentialName: "a-tls", MinProtocolVersion: "TLSV1_2"}},
				{Port: Port{Number: 0, Protocol: "HTTPS", Name: "https"}, Hosts: []string{"*/a.example.com", "./b.example.com"}, TLS: &ServerTLS{Mode: "SIMPLE", CredentialName: "a-tls", MinProtocolVersion: "TLSV1_2"}},
				{Port: Port{Number: 4294967295, Protocol: "HTTPS", Name: "https"}, Hosts: []string{"*/a.example.com", "./b.example.com"}, TLS: &ServerTLS{Mode: "SIMPLE", CredentialName: "a-tls", MinProtocolVersion: "TLSV1_2"}},
			}},
		},
		"Go-typed content": {
			spec: map[string]any{"selector": map[string]string{"istio": "ingressgateway"}, "servers": []any{
				map[string]any{"port": map[string]any{"number": uint32(443), "protocol": "HTTPS", "name": "https"}, "hosts": []string{"a.example.com"}},
			}},
			want: Gateway{Namespace: "istio-system", Name: "public", Selector: map[string]string{"istio": "ingressgateway"},
				Servers: []Server{{Port: Port{Number: 443, Protocol: "HTTPS", Name: "https"}, Hosts: []string{"a.example.com"}}}},
		},
		"port number below range": {
			spec:    map[string]any{"servers": []any{withPort(int64(-1))}},
			wantErr: "spec.servers[0].port.number: -1 is out of range 0..4294967295",
		},
		"port number above range": {
			spec:    map[string]any{"servers": []any{httpsEntry(), withPort(int64(4294967296))}},
			wantErr: "spec.servers[1].port.number: 4294967296 is out of range 0..4294967295",
		},
		"float port number above range": {
			spec:    map[string]any{"servers": []any{withPort(float64(1e10))}},
			wantErr: "spec.servers[0].port.number: 1e+10 is out of range 0..4294967295",
		},
		"fractional port number": {
			spec:    map[string]any{"servers": []any{withPort(443.5)}},
			wantErr: "spec.servers[0].port.number: 443.5 is not a whole number",
		},
		"port number as a string": {
			spec:    map[string]any{"servers": []any{withPort("443")}},
			wantErr: "spec.servers[0].port.number: want a number, got a string",
		},
		"servers not a list": {
			spec:    map[string]any{"servers": map[string]any{"port": map[string]any{}}},
			wantErr: "spec.servers: want an array, got an object",
		},
		"server not an object": {
			spec:    map[string]any{"servers": []any{httpsEntry(), "https"}},
			wantErr: "spec.servers[1]: want an object, got a string",
		},
		"port not an object": {
			spec:    map[string]any{"servers": []any{map[string]any{"port": int64(443)}}},
			wantErr: "spec.servers[0].port: want an object, got a number",
		},
		"port name not a string": {
			spec:    map[string]any{"servers": []any{map[string]any{"port": map[string]any{"name": true}}}},
			wantErr: "spec.servers[0].port.name: want a string, got a boolean",
		},
		"hosts not a list": {
			spec:    map[string]any{"servers": []any{map[string]any{"hosts": "a.example.com"}}},
			wantErr: "spec.servers[0].hosts: want an array of strings, got a string",
		},
		"host not a string": {
			spec:    map[string]any{"servers": []any{map[string]any{"hosts": []any{"a.example.com", int64(1)}}}},
			wantErr: "spec.servers[0].hosts[1]: want a string, got a number",
		},
		"tls not an object": {
			spec:    map[string]any{"servers": []any{map[string]any{"tls": "SIMPLE"}}},
			wantErr: "spec.servers[0].tls: want an object, got a string",
		},
		"httpsRedirect not a boolean": {
			spec:    map[string]any{"servers": []any{map[string]any{"tls": map[string]any{"httpsRedirect": "true"}}}},
			wantErr: "spec.servers[0].tls.httpsRedirect: want a boolean, got a string",
		},
		"credentialNames not strings": {
			spec:    map[string]any{"servers": []any{map[string]any{"tls": map[string]any{"credentialNames": []any{map[string]any{}}}}}},
			wantErr: "spec.servers[0].tls.credentialNames[0]: want a string, got an object",
		},
		"selector not an object": {
			spec:    map[string]any{"selector": "istio=ingressgateway"},
			wantErr: "spec.selector: want an object of strings, got a string",
		},
		"selector value not a string": {
			spec:    map[string]any{"selector": map[string]any{"istio": "ingressgateway", "app.kubernetes.io/name": false}},
			wantErr: `spec.selector["app.kubernetes.io/name"]: want a string, got a boolean`,
		},
		"the first problem is the one reported": {
			spec:    map[string]any{"selector": map[string]any{"b": int64(1), "a": int64(2)}, "servers": []any{withPort("443")}},
			wantErr: `spec.selector["a"]: want a string, got a number`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ParseGateway("istio-system", "public", tc.spec)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseGateway error = %v, want %q", err, tc.wantErr)
				}
				if diff := cmp.Diff(Gateway{}, got); diff != "" {
					t.Errorf("ParseGateway returned a Gateway with its error (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseGateway: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseGateway (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseServer(t *testing.T) {
	for name, tc := range map[string]struct {
		entry   any
		want    Server
		wantErr string
	}{
		"hand-written https": {
			entry: httpsEntry(),
			want: Server{Port: Port{Number: 443, Protocol: "HTTPS", Name: "https"}, Hosts: []string{"*/a.example.com", "./b.example.com"},
				TLS: &ServerTLS{Mode: "SIMPLE", CredentialName: "a-tls", MinProtocolVersion: "TLSV1_2"}},
		},
		"empty tls is kept apart from none": {
			entry: map[string]any{"port": map[string]any{"number": int64(443), "protocol": "TLS", "name": "tls"}, "hosts": []any{}, "tls": map[string]any{}},
			want:  Server{Port: Port{Number: 443, Protocol: "TLS", Name: "tls"}, Hosts: []string{}, TLS: &ServerTLS{}},
		},
		"a broken entry keeps its port name": {
			entry:   withPort(int64(-443)),
			want:    Server{Port: Port{Name: "https"}},
			wantErr: "port.number: -443 is out of range 0..4294967295",
		},
		"not an object": {
			entry:   "https",
			wantErr: "want an object, got a string",
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ParseServer(tc.entry)
			if gotErr := errorText(err); gotErr != tc.wantErr {
				t.Errorf("ParseServer error = %q, want %q", gotErr, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseServer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRawPortName(t *testing.T) {
	for entry, want := range map[any]string{
		"not a map": "",
		0:           "",
	} {
		if got := RawPortName(entry); got != want {
			t.Errorf("RawPortName(%#v) = %q, want %q", entry, got, want)
		}
	}
	if got := RawPortName(httpsEntry()); got != "https" {
		t.Errorf("RawPortName = %q, want https", got)
	}
	if got := RawPortName(map[string]any{"port": map[string]any{"name": int64(1)}}); got != "" {
		t.Errorf("RawPortName of a number name = %q, want empty", got)
	}
}

// TestServerEntry writes out what Istio reads for each kind of server
// edgecert renders, and reads each entry back.
func TestServerEntry(t *testing.T) {
	for name, tc := range map[string]struct {
		server Server
		want   map[string]any
	}{
		"plain http": {
			server: Server{Port: Port{Number: 80, Protocol: "HTTP", Name: "http-shop-team-a"}, Hosts: []string{"team-a/shop.example.com"}},
			want: map[string]any{
				"port":  map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http-shop-team-a"},
				"hosts": []any{"team-a/shop.example.com"},
			},
		},
		"https redirect": {
			server: Server{Port: Port{Number: 80, Protocol: "HTTP", Name: "http-shop-team-a"}, Hosts: []string{"team-a/shop.example.com"}, TLS: &ServerTLS{HTTPSRedirect: true}},
			want: map[string]any{
				"port":  map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http-shop-team-a"},
				"hosts": []any{"team-a/shop.example.com"},
				"tls":   map[string]any{"httpsRedirect": true},
			},
		},
		"https from a credential": {
			server: Server{Port: Port{Number: 443, Protocol: "HTTPS", Name: "https-shop-team-a"}, Hosts: []string{"team-a/shop.example.com", "team-a/*.shop.example.com"},
				TLS: &ServerTLS{Mode: "SIMPLE", CredentialName: "team-a.shop", MinProtocolVersion: "TLSV1_2", MaxProtocolVersion: "TLSV1_3"}},
			want: map[string]any{
				"port":  map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https-shop-team-a"},
				"hosts": []any{"team-a/shop.example.com", "team-a/*.shop.example.com"},
				"tls":   map[string]any{"mode": "SIMPLE", "credentialName": "team-a.shop", "minProtocolVersion": "TLSV1_2", "maxProtocolVersion": "TLSV1_3"},
			},
		},
		"mutual from files": {
			server: Server{Port: Port{Number: 443, Protocol: "HTTPS", Name: "https-shop-team-a"}, Hosts: []string{"team-a/shop.example.com"},
				TLS: &ServerTLS{Mode: "MUTUAL", ServerCertificate: "/etc/c.pem", PrivateKey: "/etc/k.pem", CACertificates: "/etc/ca.pem"}},
			want: map[string]any{
				"port":  map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https-shop-team-a"},
				"hosts": []any{"team-a/shop.example.com"},
				"tls":   map[string]any{"mode": "MUTUAL", "serverCertificate": "/etc/c.pem", "privateKey": "/etc/k.pem", "caCertificates": "/etc/ca.pem"},
			},
		},
		"passthrough": {
			server: Server{Port: Port{Number: 15443, Protocol: "TLS", Name: "tls-db-team-a"}, Hosts: []string{"team-a/db.example.com"}, TLS: &ServerTLS{Mode: "PASSTHROUGH"}},
			want: map[string]any{
				"port":  map[string]any{"number": int64(15443), "protocol": "TLS", "name": "tls-db-team-a"},
				"hosts": []any{"team-a/db.example.com"},
				"tls":   map[string]any{"mode": "PASSTHROUGH"},
			},
		},
		"every field Server has": {
			server: Server{Port: Port{Number: 9443, Protocol: "HTTPS", Name: "https-dual"}, Hosts: []string{"d.example.com"}, Bind: "10.0.0.1",
				TLS: &ServerTLS{Mode: "SIMPLE", CredentialNames: []string{"d-rsa", "d-ec"}}},
			want: map[string]any{
				"port":  map[string]any{"number": int64(9443), "protocol": "HTTPS", "name": "https-dual"},
				"hosts": []any{"d.example.com"},
				"bind":  "10.0.0.1",
				"tls":   map[string]any{"mode": "SIMPLE", "credentialNames": []any{"d-rsa", "d-ec"}},
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := tc.server.Entry()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Entry (-want +got):\n%s", diff)
			}
			back, err := ParseServer(got)
			if err != nil {
				t.Fatalf("ParseServer(Entry): %v", err)
			}
			if diff := cmp.Diff(tc.server, back); diff != "" {
				t.Errorf("ParseServer(Entry) (-want +got):\n%s", diff)
			}
		})
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
