package names

import (
	"strings"
	"testing"
)

// The expected hashes are the first 16 hex characters of `printf %s <name> | sha256sum`.
func TestFit(t *testing.T) {
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 10)
	tests := map[string]struct {
		base, suffix string
		max          int
		want         string
	}{
		"short enough":         {"shop", "-gateway-tls", 253, "shop-gateway-tls"},
		"exactly the limit":    {strings.Repeat("x", 59), "-tls", 63, strings.Repeat("x", 59) + "-tls"},
		"label value":          {long, "", 63, strings.Repeat("a", 46) + "-283df04de1ac8a62"},
		"keeps the suffix":     {long, "-tls", 63, strings.Repeat("a", 42) + "-ffcf5bb25266a571-tls"},
		"trims a dangling dot": {strings.Repeat("a", 45) + "." + strings.Repeat("b", 30), "", 63, strings.Repeat("a", 45) + "-5da070c1c994add6"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Fit(tc.base, tc.suffix, tc.max)
			if got != tc.want {
				t.Errorf("Fit = %q, want %q", got, tc.want)
			}
			if len(got) > tc.max {
				t.Errorf("len %d > %d", len(got), tc.max)
			}
		})
	}
	if Fit(long+"1", "", 63) == Fit(long+"2", "", 63) {
		t.Error("two long names with the same start got the same short name")
	}
}

func TestFitLabel(t *testing.T) {
	isLabel := func(s string) bool {
		if len(s) == 0 || len(s) > MaxDNSLabel || s[0] == '-' || s[len(s)-1] == '-' {
			return false
		}
		for _, c := range s {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
		return true
	}
	// printf %s www.example.com-http01-0 | sha256sum
	if got, want := FitLabel("www.example.com", "-http01-0"), "www-example-com-6dfe73f5fac6a7cf-http01-0"; got != want {
		t.Errorf("FitLabel(dotted) = %q, want %q", got, want)
	}
	if got := FitLabel("web", "-http01-0"); got != "web-http01-0" {
		t.Errorf("FitLabel(label) = %q, want it unchanged", got)
	}
	seen := map[string]string{}
	for _, base := range []string{"web", "a.b", "a-b", strings.Repeat("a", 60), strings.Repeat("a.", 120) + "a", strings.Repeat("x", 253)} {
		got := FitLabel(base, "-http01-0")
		if !isLabel(got) {
			t.Errorf("FitLabel(%q) = %q: not a DNS label of at most %d characters", base, got, MaxDNSLabel)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("FitLabel gives %q for both %q and %q", got, other, base)
		}
		seen[got] = base
	}
}
