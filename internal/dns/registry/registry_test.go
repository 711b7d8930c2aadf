package registry_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/edgecert/edgecert/internal/dns/registry"
)

func TestTXTName(t *testing.T) {
	tests := map[string]struct {
		naming registry.Naming
		name   string
		typ    string
		want   string
	}{
		"A":                            {name: "www.example.com.", typ: "A", want: "a-www.example.com."},
		"AAAA":                         {name: "www.example.com.", typ: "AAAA", want: "aaaa-www.example.com."},
		"CNAME":                        {name: "www.example.com.", typ: "CNAME", want: "cname-www.example.com."},
		"wildcard":                     {name: "*.example.com.", typ: "A", want: "a-*.example.com."},
		"wildcard replaced":            {naming: registry.Naming{WildcardReplacement: "Wildcard"}, name: "*.example.com.", typ: "CNAME", want: "cname-wildcard.example.com."},
		"prefix":                       {naming: registry.Naming{Prefix: "txt."}, name: "www.example.com.", typ: "A", want: "txt.a-www.example.com."},
		"prefix with the type in it":   {naming: registry.Naming{Prefix: "%{record_type}-own."}, name: "www.example.com.", typ: "CNAME", want: "cname-own.www.example.com."},
		"suffix":                       {naming: registry.Naming{Suffix: "-txt"}, name: "www.example.com.", typ: "A", want: "a-www-txt.example.com."},
		"suffix with a dot":            {naming: registry.Naming{Suffix: ".txt"}, name: "api.example.com.", typ: "AAAA", want: "aaaa-api.txt.example.com."},
		"apex gets the type too":       {name: "example.com.", typ: "A", want: "a-example.com."},
		"wildcard with prefix, kept *": {naming: registry.Naming{Prefix: "own-"}, name: "*.apps.example.com.", typ: "A", want: "own-a-*.apps.example.com."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.naming.TXTName(tc.name, tc.typ); got != tc.want {
				t.Errorf("TXTName(%q, %s) = %q, want %q", tc.name, tc.typ, got, tc.want)
			}
		})
	}
}

func TestRecordName(t *testing.T) {
	type out struct {
		Name, Type string
		OK         bool
	}
	tests := map[string]struct {
		naming registry.Naming
		txt    string
		want   out
	}{
		"new format A":               {txt: "a-www.example.com.", want: out{"www.example.com.", "A", true}},
		"new format CNAME":           {txt: "cname-www.example.com.", want: out{"www.example.com.", "CNAME", true}},
		"new format wildcard":        {txt: "a-*.example.com.", want: out{"*.example.com.", "A", true}},
		"old format, same name":      {txt: "www.example.com.", want: out{"www.example.com.", "", true}},
		"old format, dash in name":   {txt: "my-app.example.com.", want: out{"my-app.example.com.", "", true}},
		"upper case is lowered":      {txt: "A-WWW.Example.com.", want: out{"www.example.com.", "A", true}},
		"prefix":                     {naming: registry.Naming{Prefix: "txt."}, txt: "txt.cname-www.example.com.", want: out{"www.example.com.", "CNAME", true}},
		"prefix, old format":         {naming: registry.Naming{Prefix: "txt."}, txt: "txt.www.example.com.", want: out{"www.example.com.", "", true}},
		"prefix missing":             {naming: registry.Naming{Prefix: "txt."}, txt: "a-www.example.com.", want: out{}},
		"prefix with the type":       {naming: registry.Naming{Prefix: "%{record_type}-own."}, txt: "aaaa-own.www.example.com.", want: out{"www.example.com.", "AAAA", true}},
		"prefix with the type, old":  {naming: registry.Naming{Prefix: "%{record_type}-own."}, txt: "-own.www.example.com.", want: out{"www.example.com.", "", true}},
		"suffix":                     {naming: registry.Naming{Suffix: "-txt"}, txt: "a-www-txt.example.com.", want: out{"www.example.com.", "A", true}},
		"suffix with a dot":          {naming: registry.Naming{Suffix: ".txt"}, txt: "aaaa-api.txt.example.com.", want: out{"api.example.com.", "AAAA", true}},
		"suffix missing":             {naming: registry.Naming{Suffix: "-txt"}, txt: "a-www.example.com.", want: out{}},
		"wildcard replacement stays": {naming: registry.Naming{WildcardReplacement: "wildcard"}, txt: "a-wildcard.example.com.", want: out{"wildcard.example.com.", "A", true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			n, typ, ok := tc.naming.RecordName(tc.txt)
			if diff := cmp.Diff(tc.want, out{n, typ, ok}); diff != "" {
				t.Errorf("RecordName(%q) (-want +got):\n%s", tc.txt, diff)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	got := registry.Labels{"resource": "gateway/istio-system/public", "owner": "cluster-1"}.Serialize()
	want := "heritage=external-dns,external-dns/owner=cluster-1,external-dns/resource=gateway/istio-system/public"
	if got != want {
		t.Errorf("Serialize = %q, want %q", got, want)
	}

	tests := map[string]struct {
		value  string
		want   registry.Labels
		wantOK bool
	}{
		"plain":             {value: want, want: registry.Labels{"owner": "cluster-1", "resource": "gateway/istio-system/public"}, wantOK: true},
		"quoted":            {value: `"heritage=external-dns,external-dns/owner=x"`, want: registry.Labels{"owner": "x"}, wantOK: true},
		"keys in any order": {value: "external-dns/owner=x,heritage=external-dns", want: registry.Labels{"owner": "x"}, wantOK: true},
		"other heritage":    {value: "heritage=someone-else,external-dns/owner=x"},
		"no heritage":       {value: "external-dns/owner=x"},
		"an ordinary TXT":   {value: "v=spf1 -all"},
		"stray tokens":      {value: "heritage=external-dns,garbage,other/key=1,external-dns/owner=y", want: registry.Labels{"owner": "y"}, wantOK: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := registry.ParseLabels(tc.value)
			if ok != tc.wantOK {
				t.Fatalf("ParseLabels(%q) ok = %v, want %v", tc.value, ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseLabels(%q) (-want +got):\n%s", tc.value, diff)
			}
		})
	}
}

func TestTargetType(t *testing.T) {
	for target, want := range map[string]string{
		"192.0.2.1":              "A",
		"2001:db8::1":            "AAAA",
		"::ffff:192.0.2.1":       "A",
		"lb-1.elb.amazonaws.com": "CNAME",
	} {
		if got := registry.TargetType(target); got != want {
			t.Errorf("TargetType(%q) = %q, want %q", target, got, want)
		}
	}
}
