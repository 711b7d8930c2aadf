package issuance

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
)

func TestSelectSolver(t *testing.T) {
	dns := &edgecertv1alpha1.DNS01Solver{}
	http := &edgecertv1alpha1.HTTP01Solver{}
	solvers := []edgecertv1alpha1.ACMESolver{
		{HTTP01: http},
		{Selector: &edgecertv1alpha1.SolverSelector{DNSZones: []string{"example.com"}}, DNS01: dns},
		{Selector: &edgecertv1alpha1.SolverSelector{DNSZones: []string{"shop.example.com"}}, DNS01: dns},
		{Selector: &edgecertv1alpha1.SolverSelector{DNSNames: []string{"www.shop.example.com"}}, HTTP01: http},
		{Selector: &edgecertv1alpha1.SolverSelector{MatchLabels: map[string]string{"team": "a"}}, HTTP01: http},
	}
	tests := map[string]struct {
		host     string
		labels   map[string]string
		want     int
		wantType string
		wantErr  bool
	}{
		"no selector catches the rest": {host: "other.org", want: 0, wantType: HTTP01},
		"zone match":                   {host: "a.example.com", want: 1, wantType: DNS01},
		"longest zone wins":            {host: "a.shop.example.com", want: 2, wantType: DNS01},
		"dnsNames beats zones":         {host: "www.shop.example.com", want: 3, wantType: HTTP01},
		"labels beat no selector":      {host: "other.org", labels: map[string]string{"team": "a"}, want: 4, wantType: HTTP01},
		"wildcard needs DNS-01":        {host: "*.shop.example.com", want: 2, wantType: DNS01},
		"wildcard without DNS-01":      {host: "*.other.org", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, typ, err := SelectSolver(solvers, tc.host, tc.labels)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && (got != tc.want || typ != tc.wantType) {
				t.Fatalf("got solver %d (%s), want %d (%s)", got, typ, tc.want, tc.wantType)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	notBefore := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter := time.Date(2031, 4, 1, 0, 0, 0, 0, time.UTC)
	renewAt := time.Date(2031, 3, 2, 0, 0, 0, 0, time.UTC)
	midway := time.Date(2031, 2, 1, 0, 0, 0, 0, time.UTC)
	certPEM, keyPEM := testenv.SelfSigned(notBefore, notAfter, "www.example.test", "example.test")
	kp, err := pki.ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	spec := edgecertv1alpha1.CertificateSpec{
		DNSNames:   []string{"example.test", "www.example.test"},
		SecretName: "app-tls",
		IssuerRef:  edgecertv1alpha1.IssuerReference{Name: "pebble"},
	}
	withSpec := func(change func(*edgecertv1alpha1.CertificateSpec)) edgecertv1alpha1.CertificateSpec {
		s := spec
		change(&s)
		return s
	}
	upToDate := Decision{Issue: false, Reason: "Issued", Message: "certificate is up to date"}
	tests := map[string]struct {
		facts Facts
		want  Decision
	}{
		"no Secret": {
			facts: Facts{Spec: spec, Now: midway},
			want:  Decision{Issue: true, Reason: "DoesNotExist", Message: `Secret "app-tls" does not exist`},
		},
		"Secret that does not parse": {
			facts: Facts{Spec: spec, SecretProblem: "Secret app-tls: tls.crt holds no certificate", Now: midway},
			want:  Decision{Issue: true, Reason: "SecretMismatch", Message: "Secret app-tls: tls.crt holds no certificate"},
		},
		"a host added": {
			facts: Facts{Spec: withSpec(func(s *edgecertv1alpha1.CertificateSpec) { s.DNSNames = append(s.DNSNames, "api.example.test") }), KeyPair: kp, Now: midway},
			want:  Decision{Issue: true, Reason: "SpecChanged", Message: "certificate is for example.test, www.example.test, spec asks for api.example.test, example.test, www.example.test"},
		},
		"a host removed": {
			facts: Facts{Spec: withSpec(func(s *edgecertv1alpha1.CertificateSpec) { s.DNSNames = []string{"example.test"} }), KeyPair: kp, Now: midway},
			want:  Decision{Issue: true, Reason: "SpecChanged", Message: "certificate is for example.test, www.example.test, spec asks for example.test"},
		},
		"hosts differing only in case, order, duplicates and a trailing dot": {
			facts: Facts{Spec: withSpec(func(s *edgecertv1alpha1.CertificateSpec) {
				s.DNSNames = []string{"WWW.example.test.", "example.test", "www.example.test"}
			}), KeyPair: kp, Now: midway},
			want: upToDate,
		},
		"key type changed": {
			facts: Facts{Spec: withSpec(func(s *edgecertv1alpha1.CertificateSpec) {
				s.PrivateKey = &edgecertv1alpha1.PrivateKeySpec{Algorithm: "RSA"}
			}), KeyPair: kp, Now: midway},
			want: Decision{Issue: true, Reason: "SpecChanged", Message: "private key is not RSA 2048"},
		},
		"key size changed": {
			facts: Facts{Spec: withSpec(func(s *edgecertv1alpha1.CertificateSpec) {
				s.PrivateKey = &edgecertv1alpha1.PrivateKeySpec{Algorithm: "ECDSA", Size: 384}
			}), KeyPair: kp, Now: midway},
			want: Decision{Issue: true, Reason: "SpecChanged", Message: "private key is not ECDSA 384"},
		},
		"issuer changed": {
			facts: Facts{Spec: spec, KeyPair: kp, IssuedBy: edgecertv1alpha1.IssuerReference{Name: "old", Kind: "Issuer"}, Now: midway},
			want:  Decision{Issue: true, Reason: "SpecChanged", Message: `certificate was issued by Issuer "old", spec asks for Issuer "pebble"`},
		},
		"issuer kind changed": {
			facts: Facts{Spec: spec, KeyPair: kp, IssuedBy: edgecertv1alpha1.IssuerReference{Name: "pebble", Kind: "ClusterIssuer"}, Now: midway},
			want:  Decision{Issue: true, Reason: "SpecChanged", Message: `certificate was issued by ClusterIssuer "pebble", spec asks for Issuer "pebble"`},
		},
		"same issuer": {
			facts: Facts{Spec: spec, KeyPair: kp, IssuedBy: edgecertv1alpha1.IssuerReference{Name: "pebble", Kind: "Issuer"}, Now: midway},
			want:  upToDate,
		},
		"issuer unknown (no annotations)": {
			facts: Facts{Spec: spec, KeyPair: kp, Now: midway},
			want:  upToDate,
		},
		"expired": {
			facts: Facts{Spec: spec, KeyPair: kp, Now: notAfter.Add(time.Second)},
			want:  Decision{Issue: true, Reason: "Renewing", Message: "certificate has expired"},
		},
		"expiring this very second": {
			facts: Facts{Spec: spec, KeyPair: kp, Now: notAfter},
			want:  Decision{Issue: true, Reason: "Renewing", Message: "certificate has expired"},
		},
		"renewal time has come": {
			facts: Facts{Spec: spec, KeyPair: kp, RenewalTime: renewAt, Now: renewAt},
			want:  Decision{Issue: true, Reason: "Renewing", Message: "renewal time 2031-03-02T00:00:00Z has come"},
		},
		"renewal time not yet": {
			facts: Facts{Spec: spec, KeyPair: kp, RenewalTime: renewAt, Now: renewAt.Add(-time.Second)},
			want:  upToDate,
		},
		"not yet valid is no reason to issue": {
			facts: Facts{Spec: spec, KeyPair: kp, Now: notBefore.Add(-time.Hour)},
			want:  upToDate,
		},
		"renewal requested by a person": {
			facts: Facts{Spec: spec, KeyPair: kp, RenewalTime: renewAt, RenewRequested: "2031-02-01T00:00:00Z", Now: midway},
			want:  Decision{Issue: true, Reason: "Renewing", Message: "renewal requested (edgecert.dev/renew-requested-at: 2031-02-01T00:00:00Z)"},
		},
		"a spec change says more than a renewal request": {
			facts: Facts{Spec: withSpec(func(s *edgecertv1alpha1.CertificateSpec) { s.DNSNames = []string{"example.test"} }), KeyPair: kp, RenewRequested: "now", Now: midway},
			want:  Decision{Issue: true, Reason: "SpecChanged", Message: "certificate is for example.test, www.example.test, spec asks for example.test"},
		},
		"the first need wins: hosts before expiry": {
			facts: Facts{Spec: withSpec(func(s *edgecertv1alpha1.CertificateSpec) { s.DNSNames = []string{"example.test"} }), KeyPair: kp, Now: notAfter.Add(time.Hour)},
			want:  Decision{Issue: true, Reason: "SpecChanged", Message: "certificate is for example.test, www.example.test, spec asks for example.test"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Decide(tc.facts)); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 1: 5 * time.Minute, 2: 10 * time.Minute, 4: 40 * time.Minute, 20: 32 * time.Hour} {
		if got := Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestPollDelayHonoursTheCA(t *testing.T) {
	if got := PollDelay(0, 0); got != 20*time.Millisecond {
		t.Errorf("fresh order: %s, want 20ms", got)
	}
	if got := PollDelay(0, 3*time.Second); got != 3*time.Second {
		t.Errorf("with Retry-After 3s: %s, want 3s", got)
	}
	if got := PollDelay(time.Hour, 0); got != 30*time.Second {
		t.Errorf("old order: %s, want 30s", got)
	}
}
