package certificate_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/dns/rfc2136"
	"github.com/edgecert/edgecert/internal/metrics"
	"github.com/edgecert/edgecert/internal/testenv"
)

// While the HTTP-01 answer cannot be fetched the way Pebble would fetch it
// (the host resolves nowhere), edgecert does not tell Pebble to validate:
// the challenge stays pending at Pebble and the Certificate says which URL
// failed and why. Once the host resolves, the certificate is issued on the
// same order.
func TestHTTP01SelfCheckHoldsTheChallengeUntilTheAnswerIsReachable(t *testing.T) {
	ctx := context.Background()
	ns, iss := newIssuer(t)
	const host = "held.example.test"
	// A TXT record at the name hides the zone's wildcard A record from
	// it: BIND answers A queries for it with no address (RFC 4592).
	zone := bed.BIND
	provider, err := rfc2136.New(rfc2136.Config{Nameserver: zone.Addr, TSIGKeyName: zone.Key.Name, TSIGAlgorithm: zone.Key.Algorithm, TSIGSecret: zone.Key.Secret})
	if err != nil {
		t.Fatal(err)
	}
	const shadow = "hides the wildcard A record"
	if err := provider.Present(ctx, "example.test.", host+".", shadow); err != nil {
		t.Fatal(err)
	}
	unshadow := func() {
		if err := provider.CleanUp(ctx, "example.test.", host+".", shadow); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(unshadow)
	if addrs := queryA(t, host+"."); len(addrs) != 0 {
		t.Fatalf("BIND answers %v for %s, want no address", addrs, host)
	}

	failedBefore := testutil.ToFloat64(metrics.HTTP01SelfChecks.WithLabelValues("failed"))
	passedBefore := testutil.ToFloat64(metrics.HTTP01SelfChecks.WithLabelValues("passed"))
	cert := newCertificate(t, ns, "held", host)
	var got edgecertv1alpha1.Certificate
	var ch edgecertv1alpha1.ChallengeStatus
	testenv.Eventually(t, "Reconciling=WaitingForHTTP01Reachability", func() (bool, string) {
		if err := bed.ControlPlane.Client.Get(ctx, client.ObjectKeyFromObject(cert), &got); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, edgecertv1alpha1.ReconcilingCondition)
		if cond == nil || cond.Reason != edgecertv1alpha1.ReasonWaitingForHTTP01Reachability || got.Status.Order == nil || len(got.Status.Order.Challenges) != 1 {
			return false, fmt.Sprintf("%+v", got.Status)
		}
		ch = got.Status.Order.Challenges[0]
		return true, ""
	})
	cond := meta.FindStatusCondition(got.Status.Conditions, edgecertv1alpha1.ReconcilingCondition)
	// The URL Pebble would fetch (the bed's HTTP-01 port), and the error.
	want := regexp.MustCompile(`^Waiting for the HTTP-01 answer for held\.example\.test to be served at http://held\.example\.test:[0-9]+/\.well-known/acme-challenge/` + regexp.QuoteMeta(ch.Token) + ` \(lookup held\.example\.test through ` + regexp.QuoteMeta(bed.BIND.Addr) + `: no such host\)$`)
	if !want.MatchString(cond.Message) {
		t.Errorf("Reconciling message = %q, want it to match %s", cond.Message, want)
	}
	// Pebble was never asked to validate: the authorization and its
	// challenge are both still pending.
	authz := pebbleAuthorization(t, iss, ch.AuthorizationURL)
	if authz.Status != "pending" {
		t.Errorf("authorization at Pebble is %s, want pending", authz.Status)
	}
	for _, c := range authz.Challenges {
		if c.Status != "pending" {
			t.Errorf("%s challenge at Pebble is %s, want pending (never sent for validation)", c.Type, c.Status)
		}
	}

	if got := testutil.ToFloat64(metrics.HTTP01SelfChecks.WithLabelValues("failed")); got <= failedBefore {
		t.Errorf("edgecert_http01_self_checks_total{outcome=\"failed\"} = %v, want more than %v", got, failedBefore)
	}

	unshadow()
	got2 := waitReady(t, cert, metav1.ConditionTrue, edgecertv1alpha1.ReasonIssued)
	checkSecret(t, cert, host)
	if got2.Status.FailedIssuanceAttempts != 0 || got2.Status.Revision != 1 {
		t.Errorf("failedIssuanceAttempts = %d, revision = %d; want 0 and 1: the order that waited was the one issued", got2.Status.FailedIssuanceAttempts, got2.Status.Revision)
	}
	if got := testutil.ToFloat64(metrics.HTTP01SelfChecks.WithLabelValues("passed")); got <= passedBefore {
		t.Errorf("edgecert_http01_self_checks_total{outcome=\"passed\"} = %v, want more than %v", got, passedBefore)
	}
	if authz := pebbleAuthorization(t, iss, ch.AuthorizationURL); authz.Status != "valid" {
		t.Errorf("authorization at Pebble is %s after issuance, want valid", authz.Status)
	}
}

// queryA returns the A records BIND serves for name.
func queryA(t *testing.T, name string) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	r, err := dns.Exchange(m, bed.BIND.Addr)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}
