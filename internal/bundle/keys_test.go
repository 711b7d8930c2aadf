package bundle

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestEntryKeys(t *testing.T) {
	tests := map[string]struct {
		tmpl, ns, name    string
		wantCert, wantKey string
		wantErr           bool
	}{
		"default":              {ns: "istio-system", name: "cert-svc.dev.domain.com", wantCert: "cert-svc.dev.domain.com.crt", wantKey: "cert-svc.dev.domain.com.key"},
		"explicit default":     {tmpl: "{name}", ns: "a", name: "b", wantCert: "b.crt", wantKey: "b.key"},
		"namespace-qualified":  {tmpl: "{namespace}.{name}", ns: "team-a", name: "web", wantCert: "team-a.web.crt", wantKey: "team-a.web.key"},
		"literal prefix":       {tmpl: "tls_{name}", ns: "a", name: "web", wantCert: "tls_web.crt", wantKey: "tls_web.key"},
		"no {name}":            {tmpl: "{namespace}", ns: "a", name: "b", wantErr: true},
		"slash not allowed":    {tmpl: "{namespace}/{name}", ns: "a", name: "b", wantErr: true},
		"unknown placeholder":  {tmpl: "{name}{uid}", ns: "a", name: "b", wantErr: true},
		"too long when filled": {tmpl: "{name}{name}", ns: "a", name: strings.Repeat("x", 200), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, k, err := EntryKeys(tc.tmpl, tc.ns, tc.name)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff([]string{tc.wantCert, tc.wantKey}, []string{c, k}); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzEntryKeys checks that whatever template a user writes, EntryKeys
// either refuses it or returns two distinct, valid Secret data keys that
// name the source, and that ValidateKeyTemplate agrees with it.
func FuzzEntryKeys(f *testing.F) {
	f.Add("{name}", "istio-system", "cert-svc.dev.domain.com")
	f.Add("{namespace}.{name}", "team-a", "web")
	f.Add("{name", "a", "b")
	f.Add("{{name}}", "a", "b")
	f.Add("..{name}", "a", "b")
	f.Fuzz(func(t *testing.T, tmpl, ns, name string) {
		// Kubernetes names are DNS subdomains; the fuzzer explores templates.
		if len(validation.IsDNS1123Subdomain(name)) > 0 || len(validation.IsDNS1123Label(ns)) > 0 {
			t.Skip()
		}
		c, k, err := EntryKeys(tmpl, ns, name)
		if verr := ValidateKeyTemplate(tmpl); verr != nil && err == nil {
			t.Fatalf("template %q is invalid (%v) but EntryKeys accepted it", tmpl, verr)
		}
		if err != nil {
			return
		}
		for _, key := range []string{c, k} {
			if errs := validation.IsConfigMapKey(key); len(errs) > 0 {
				t.Fatalf("EntryKeys(%q, %q, %q) = %q: invalid key: %v", tmpl, ns, name, key, errs)
			}
			if !strings.Contains(key, name) {
				t.Fatalf("EntryKeys(%q, %q, %q) = %q does not contain the name", tmpl, ns, name, key)
			}
		}
		if c == k || !strings.HasSuffix(c, CertSuffix) || !strings.HasSuffix(k, KeySuffix) {
			t.Fatalf("EntryKeys(%q, %q, %q) = %q, %q", tmpl, ns, name, c, k)
		}
	})
}

// FuzzMergeSourceData feeds arbitrary bytes as a source's tls.crt and
// tls.key: Merge never panics, and a source is in the bundle only if its
// pair really parses and matches.
func FuzzMergeSourceData(f *testing.F) {
	p := newPair(later, "a.example")
	f.Add(p.cert, p.key)
	f.Add(p.cert, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), p.key)
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, cert, key []byte) {
		res, err := Merge(Input{Sources: []Source{{Ref: Ref{"ns", "s"}, Type: TLSSecretType, Data: map[string][]byte{TLSCertKey: cert, TLSPrivateKey: key}}}})
		if err != nil {
			t.Fatal(err)
		}
		reason, _ := check(Source{Type: TLSSecretType, Data: map[string][]byte{TLSCertKey: cert, TLSPrivateKey: key}})
		if good := reason == ""; good != (len(res.Included) == 1) || good == (len(res.Excluded) == 1) {
			t.Fatalf("check reason %q, but included %d and excluded %d", reason, len(res.Included), len(res.Excluded))
		}
		if len(res.Included) == 0 && len(res.Data) != 0 {
			t.Fatalf("bundle has %d entries but no source is included", len(res.Data))
		}
	})
}
