package gateway

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateHost(t *testing.T) {
	for name, tc := range map[string]struct {
		host string
		want string // substring of the error; "" for valid
	}{
		"name":              {host: "shop.example.com"},
		"wildcard":          {host: "*.shop.example.com"},
		"catch-all":         {host: "*"},
		"two stars":         {host: "**", want: "wildcard is only allowed"},
		"digits in labels":  {host: "1a.example.c0m"},
		"empty":             {host: "", want: "empty host"},
		"short":             {host: "shop", want: "short name"},
		"wildcard of tld":   {host: "*.com", want: "at least two labels"},
		"partial wildcard":  {host: "shop*.example.com", want: "wildcard is only allowed"},
		"inner wildcard":    {host: "a.*.example.com", want: "wildcard is only allowed"},
		"double wildcard":   {host: "*.*.example.com", want: "wildcard is only allowed"},
		"upper":             {host: "Shop.example.com", want: "lower case"},
		"numeric tld":       {host: "shop.example.123", want: "all-numeric"},
		"ip":                {host: "10.0.0.1", want: "all-numeric"},
		"leading dash":      {host: "-shop.example.com", want: "invalid"},
		"trailing dot":      {host: "shop.example.com.", want: "invalid"},
		"empty label":       {host: "shop..example.com", want: "invalid"},
		"long label":        {host: strings.Repeat("a", 64) + ".example.com", want: "invalid"},
		"namespace slashed": {host: "team/shop.example.com", want: "invalid"},
	} {
		t.Run(name, func(t *testing.T) {
			err := ValidateHost(tc.host)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ValidateHost(%q) = %v, want nil", tc.host, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ValidateHost(%q) = %v, want an error containing %q", tc.host, err, tc.want)
			}
		})
	}
}

func TestValidateServerHost(t *testing.T) {
	for name, tc := range map[string]struct {
		host  string
		valid bool
	}{
		"namespaced":              {"team-a/shop.example.com", true},
		"any namespace":           {"*/shop.example.com", true},
		"own namespace":           {"./shop.example.com", true},
		"bare":                    {"shop.example.com", true},
		"star":                    {"*", true},
		"namespaced star":         {"*/*", true},
		"wildcard":                {"team-a/*.example.com", true},
		"ip":                      {"10.1.2.3", true},
		"upper case (istio ok)":   {"Shop.Example.com", true},
		"trailing dot (istio ok)": {"shop.example.com.", true},
		"empty namespace":         {"/shop.example.com", false},
		"empty name":              {"team-a/", false},
		"bad namespace":           {"Team_A/shop.example.com", false},
		"short":                   {"team-a/shop", false},
		"partial wildcard":        {"team-a/sh*p.example.com", false},
		"numeric tld":             {"shop.example.42", false},
	} {
		t.Run(name, func(t *testing.T) {
			if err := ValidateServerHost(tc.host); (err == nil) != tc.valid {
				t.Fatalf("ValidateServerHost(%q) = %v, want valid=%v", tc.host, err, tc.valid)
			}
		})
	}
}

func TestOverlap(t *testing.T) {
	for name, tc := range map[string]struct {
		a, b string
		want bool
	}{
		"same":                         {"a.example.com", "a.example.com", true},
		"different":                    {"a.example.com", "b.example.com", false},
		"wildcard covers name":         {"*.example.com", "a.example.com", true},
		"name under wildcard":          {"a.example.com", "*.example.com", true},
		"wildcard covers deeper name":  {"*.example.com", "x.a.example.com", true},
		"nested wildcards":             {"*.example.com", "*.a.example.com", true},
		"wildcard does not cover apex": {"*.example.com", "example.com", false},
		"sibling wildcards":            {"*.a.example.com", "*.b.example.com", false},
		"suffix is not a label":        {"*.example.com", "badexample.com", false},
		"star":                         {"*", "anything.example.com", true},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Overlap(tc.a, tc.b); got != tc.want {
				t.Errorf("Overlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := Overlap(tc.b, tc.a); got != tc.want {
				t.Errorf("Overlap(%q, %q) = %v, want %v (symmetry)", tc.b, tc.a, got, tc.want)
			}
		})
	}
}

func TestDNSNameAndCovers(t *testing.T) {
	got := []string{DNSName("team-a/Shop.Example.com."), DNSName("*.example.com"), DNSName("*/*")}
	if diff := cmp.Diff([]string{"shop.example.com", "*.example.com", "*"}, got); diff != "" {
		t.Errorf("DNSName (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		domain, host string
		want         bool
	}{
		{"example.com", "example.com", true},
		{"example.com", "shop.example.com", true},
		{"example.com", "*.example.com", true},
		{"example.com", "badexample.com", false},
		{"shop.example.com", "example.com", false},
	} {
		if got := Covers(tc.domain, tc.host); got != tc.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tc.domain, tc.host, got, tc.want)
		}
	}
}

// FuzzValidateHost checks that whatever ValidateHost accepts is also a
// server host istiod accepts once namespaced, that the server host check
// never panics, and that an accepted host overlaps itself.
func FuzzValidateHost(f *testing.F) {
	for _, s := range []string{"shop.example.com", "*.a.b", "*", "a..b", "-a.b", "a.b.", "*.*.a", "10.0.0.1", "a/b.c", "ß.example.com", "xn--bcher-kva.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		serverErr := ValidateServerHost(host)
		_ = DNSName(host)
		if err := ValidateHost(host); err != nil {
			return
		}
		if serverErr != nil {
			t.Fatalf("ValidateHost accepts %q but istiod's rule refuses it: %v", host, serverErr)
		}
		if err := ValidateServerHost("team-a/" + host); err != nil {
			t.Fatalf("ValidateHost accepts %q but istiod's rule refuses team-a/%s: %v", host, host, err)
		}
		if !Overlap(host, host) {
			t.Fatalf("%q does not overlap itself", host)
		}
		if strings.ToLower(host) != host || strings.HasSuffix(host, ".") {
			t.Fatalf("ValidateHost accepts non-canonical %q", host)
		}
	})
}
