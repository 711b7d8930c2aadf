package issuance

import (
	"testing"
	"time"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
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

func TestDecideWithoutSecret(t *testing.T) {
	d := Decide(Facts{Spec: edgecertv1alpha1.CertificateSpec{SecretName: "s"}, Now: time.Now()})
	if !d.Issue || d.Reason != edgecertv1alpha1.ReasonDoesNotExist {
		t.Fatalf("got %+v, want issue with DoesNotExist", d)
	}
	d = Decide(Facts{Spec: edgecertv1alpha1.CertificateSpec{SecretName: "s"}, SecretProblem: "bad", Now: time.Now()})
	if !d.Issue || d.Reason != edgecertv1alpha1.ReasonSecretMismatch || d.Message != "bad" {
		t.Fatalf("got %+v, want issue with SecretMismatch", d)
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
