package cli_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/cli"
	"github.com/edgecert/edgecert/internal/dns/route53/route53test"
	"github.com/edgecert/edgecert/internal/testenv"
)

// stepsByName indexes an explanation's steps.
func stepsByName(e *cli.Explanation) map[string]cli.Step {
	m := map[string]cli.Step{}
	for _, s := range e.Steps {
		m[s.Step] = s
	}
	return m
}

// A wrong TSIG key: explain says the DNS provider refused the record,
// names the record and zone, and BIND indeed has no record. Once the key
// is fixed, renew makes edgecert try now instead of in five minutes.
func TestExplainWrongTSIGKeyThenRenewAfterTheFix(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "tsig")
	wrongTSIGSecret(t, ns)
	newIssuer(t, ns)
	host := "tsig-" + ns + ".example.test"
	cert := newCertificate(t, ns, "app", "pebble", nil, host)
	waitCondition(t, cert, edgecertv1alpha1.StalledCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonDNSNotAuthorized)

	e, err := cli.Explain(ctx, connect(t, ns), ns, "app", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	steps := stepsByName(e)
	record, zone := "_acme-challenge."+host+".", "example.test."
	refused := "present TXT " + record + ": update of zone " + zone + " at " + bed.BIND.Addr + " refused (NOTAUTH, TSIG BADSIG): TSIG key " + bed.BIND.Key.Name + " may not update this zone"
	if e.State != "Stalled" || !strings.HasPrefix(e.Summary, "Stalled: the DNS provider refused the challenge record: "+refused) {
		t.Errorf("state %q, summary %q; want Stalled and the provider's refusal", e.State, e.Summary)
	}
	if s := steps["Issuer"]; s.State != "OK" || s.Detail != `Issuer "pebble" is Ready (ACME server `+bed.Pebble.DirectoryURL+`)` {
		t.Errorf("Issuer step = %+v", s)
	}
	if s := steps["Account"]; s.State != "OK" || !strings.HasPrefix(s.Detail, "registered at the CA: https://127.0.0.1:") {
		t.Errorf("Account step = %+v", s)
	}
	if s := steps["Order"]; s.State != "Waiting" || !strings.Contains(s.Detail, "for "+host+", created ") {
		t.Errorf("Order step = %+v", s)
	}
	ch := steps["Challenge dns-01 "+host]
	wantPrefix := "TXT record " + record + " in zone " + zone + " (solver 0): the DNS provider refused it: " + refused
	if ch.State != "Blocked" || !strings.HasPrefix(ch.Detail, wantPrefix) {
		t.Errorf("challenge step = %+v, want Blocked starting %q", ch, wantPrefix)
	}
	if s := steps["DNS propagation"]; s.State != "Blocked" {
		t.Errorf("DNS propagation step = %+v, want Blocked", s)
	}
	stalled := map[string]string{"namespace": ns, "name": "app", "reason": "DNSNotAuthorized"}
	testenv.Eventually(t, "edgecert_certificate_stalled 1", func() (bool, string) {
		v, ok := metricValue(t, "edgecert_certificate_stalled", stalled)
		return ok && v == 1, fmt.Sprintf("%v (present %v)", v, ok)
	})
	if txt, err := bed.BIND.TXT(record); err != nil || len(txt) != 0 {
		t.Errorf("BIND has TXT %v (%v) for %s, want none: the update was refused", txt, err, record)
	}
	out := printed(t, cli.Table, func(p *cli.Printer) error { return p.PrintExplanation(e) })
	if !strings.HasPrefix(out, "Certificate "+ns+"/app: Stalled\nStalled: the DNS provider refused the challenge record: ") {
		t.Errorf("printed explanation starts:\n%s", out)
	}
	if !strings.Contains(out, "\nDNS propagation  ") {
		t.Errorf("printed explanation has no DNS propagation step:\n%s", out)
	}

	// The fix, then renew: the certificate comes now, the request answered
	// by the order that was waiting.
	var tsig corev1.Secret
	if err := c().Get(ctx, client.ObjectKey{Namespace: ns, Name: testenv.TSIGSecretName}, &tsig); err != nil {
		t.Fatal(err)
	}
	tsig.Data[testenv.TSIGSecretKey] = []byte(bed.BIND.Key.Secret)
	if err := c().Update(ctx, &tsig); err != nil {
		t.Fatal(err)
	}
	renewed, err := cli.Renew(ctx, connect(t, ns), cli.RenewRequest{Namespace: ns, Names: []string{"app"}}, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := []cli.Renewed{{Namespace: ns, Name: "app", RequestedAt: "2026-11-30T12:00:00Z"}}
	if diff := cmp.Diff(want, renewed); diff != "" {
		t.Errorf("Renew (-want +got):\n%s", diff)
	}
	got := waitRevision(t, cert, 1)
	if got.Status.RenewalRequest != "2026-11-30T12:00:00Z" {
		t.Errorf("status.renewalRequest = %q, want the request", got.Status.RenewalRequest)
	}
	testenv.Eventually(t, "edgecert_certificate_stalled gone once issued", func() (bool, string) {
		v, ok := metricValue(t, "edgecert_certificate_stalled", stalled)
		return !ok, fmt.Sprintf("%v (present %v)", v, ok)
	})
	e, err = cli.Explain(ctx, connect(t, ns), ns, "app", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if e.State != "Ready" || !strings.HasPrefix(e.Summary, "Ready: the certificate is valid until ") || stepsByName(e)["Secret"].State != "OK" {
		t.Errorf("after the fix: %+v", e)
	}
}

// A record published where the authoritative server (BIND) does not see
// it (Route 53's test double): explain says edgecert waits for DNS, with
// the record and zone.
func TestExplainWaitingForDNS(t *testing.T) {
	ctx := context.Background()
	r53 := route53test.NewServer()
	defer r53.Close()
	r53.AddZone("example.test.")
	ns := newNamespace(t, "waitdns")
	if err := c().Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws", Namespace: ns}, Data: map[string][]byte{"id": []byte("AKIDTEST"), "key": []byte("secret")}}); err != nil {
		t.Fatal(err)
	}
	newIssuer(t, ns, edgecertv1alpha1.ACMESolver{DNS01: &edgecertv1alpha1.DNS01Solver{
		Nameservers: []string{bed.BIND.Addr},
		Route53: &edgecertv1alpha1.Route53Provider{
			Region: "us-east-1", Endpoint: r53.URL,
			AccessKeyIDSecretRef:     &edgecertv1alpha1.SecretKeySelector{Name: "aws", Key: "id"},
			SecretAccessKeySecretRef: &edgecertv1alpha1.SecretKeySelector{Name: "aws", Key: "key"},
		},
	}})
	host := "wait-" + ns + ".example.test"
	record := "_acme-challenge." + host + "."
	cert := newCertificate(t, ns, "app", "pebble", nil, host)
	waitCondition(t, cert, edgecertv1alpha1.ReconcilingCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonWaitingForDNSPropagation)
	if txt := r53.TXT(record); len(txt) != 1 {
		t.Fatalf("Route 53 holds %v for %s, want the challenge record", txt, record)
	}

	e, err := cli.Explain(ctx, connect(t, ns), ns, "app", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	waiting := "Waiting for TXT record " + record + " (zone example.test.) to be served by every authoritative server"
	if e.State != "Issuing" || e.Summary != "Issuing: waiting for DNS: "+waiting {
		t.Errorf("state %q, summary %q", e.State, e.Summary)
	}
	steps := stepsByName(e)
	wantSteps := map[string]cli.Step{
		"Challenge dns-01 " + host: {Step: "Challenge dns-01 " + host, State: "Waiting", Detail: "TXT record " + record + " in zone example.test. (solver 0): published, not yet served by every authoritative server"},
		"DNS propagation":          {Step: "DNS propagation", State: "Waiting", Detail: waiting},
		"Secret":                   {Step: "Secret", State: "Waiting", Detail: `Secret "app-tls" does not exist yet: no certificate issued`},
		"Policy":                   {Step: "Policy", State: "OK", Detail: "hosts " + host + " may be issued here"},
	}
	for name, want := range wantSteps {
		if diff := cmp.Diff(want, steps[name]); diff != "" {
			t.Errorf("step %s (-want +got):\n%s", name, diff)
		}
	}
	if _, ok := steps["CA"]; ok {
		t.Errorf("a CA step while the CA has said nothing: %+v", steps["CA"])
	}
}

func TestExplainUnknownCertificate(t *testing.T) {
	ns := newNamespace(t, "none")
	_, err := cli.Explain(context.Background(), connect(t, ns), ns, "ghost", time.Now())
	want := `certificate "ghost" not found in namespace "` + ns + `" (list them with ` + "`edgecert status -n " + ns + "`)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// renew --all -l team=web renews exactly the Certificates with the label.
func TestRenewAllBySelector(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "renew")
	newIssuer(t, ns)
	a := newCertificate(t, ns, "a", "pebble", map[string]string{"team": "web"}, "a-"+ns+".example.test")
	b := newCertificate(t, ns, "b", "pebble", map[string]string{"team": "web"}, "b-"+ns+".example.test")
	other := newCertificate(t, ns, "other", "pebble", map[string]string{"team": "db"}, "o-"+ns+".example.test")
	for _, cert := range []*edgecertv1alpha1.Certificate{a, b, other} {
		waitRevision(t, cert, 1)
	}
	cl := connect(t, ns)
	at := time.Date(2026, 11, 30, 13, 0, 0, 5, time.UTC)

	_, err := cli.Renew(ctx, cl, cli.RenewRequest{Namespace: ns}, at)
	if err == nil || err.Error() != "name the Certificates to renew, or give --all (with -l to select by label)" {
		t.Errorf("renew with nothing named: %v", err)
	}
	sel := labels.SelectorFromSet(labels.Set{"team": "web"})
	renewed, err := cli.Renew(ctx, cl, cli.RenewRequest{Namespace: ns, All: true, Selector: sel}, at)
	if err != nil {
		t.Fatal(err)
	}
	want := []cli.Renewed{{Namespace: ns, Name: "a", RequestedAt: "2026-11-30T13:00:00.000000005Z"}, {Namespace: ns, Name: "b", RequestedAt: "2026-11-30T13:00:00.000000005Z"}}
	if diff := cmp.Diff(want, renewed); diff != "" {
		t.Errorf("Renew (-want +got):\n%s", diff)
	}
	for _, cert := range []*edgecertv1alpha1.Certificate{a, b} {
		if got := waitRevision(t, cert, 2); got.Status.RenewalRequest != "2026-11-30T13:00:00.000000005Z" {
			t.Errorf("%s: status.renewalRequest = %q", cert.Name, got.Status.RenewalRequest)
		}
	}
	if err := c().Get(ctx, client.ObjectKeyFromObject(other), other); err != nil {
		t.Fatal(err)
	}
	if v, ok := other.Annotations[edgecertv1alpha1.RenewRequestedAtAnnotation]; ok || other.Status.Revision != 1 {
		t.Errorf("the unselected Certificate got annotation %q and is at revision %d", v, other.Status.Revision)
	}
	out := printed(t, cli.Table, func(p *cli.Printer) error { return p.PrintRenewed(renewed) })
	wantOut := "Renewal requested for " + ns + "/a (edgecert.dev/renew-requested-at=2026-11-30T13:00:00.000000005Z); follow it with `edgecert explain -n " + ns + " a`\n" +
		"Renewal requested for " + ns + "/b (edgecert.dev/renew-requested-at=2026-11-30T13:00:00.000000005Z); follow it with `edgecert explain -n " + ns + " b`\n"
	if out != wantOut {
		t.Errorf("printed:\n%s\nwant:\n%s", out, wantOut)
	}
}

// An order the CA fails: status says Failed, explain gives the CA's own
// words and when the next attempt comes; renew tries again at once instead
// of after the five minutes' backoff, with one order.
func TestExplainFailedOrderThenRenewSkipsTheBackoff(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "failed")
	// No self-check, so that the CA itself fails a host nobody serves.
	newIssuer(t, ns, edgecertv1alpha1.ACMESolver{HTTP01: &edgecertv1alpha1.HTTP01Solver{SkipSelfCheck: true}})
	host := "nowhere-" + ns + ".unknown.test"
	cert := newCertificate(t, ns, "app", "pebble", nil, host)
	got := waitCondition(t, cert, edgecertv1alpha1.IssuingCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonOrderFailed)
	if got.Status.FailedIssuanceAttempts != 1 {
		t.Fatalf("failed attempts = %d, want 1", got.Status.FailedIssuanceAttempts)
	}
	cl := connect(t, ns)
	report, err := cli.Status(ctx, cl, ns, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Certificates) != 1 || report.Certificates[0].State != "Failed" || report.Certificates[0].Reason != "OrderFailed" ||
		!strings.HasPrefix(report.Certificates[0].Error, "the CA failed the order: ") || !strings.Contains(report.Certificates[0].Error, host) {
		t.Errorf("status rows = %+v; want app Failed, OrderFailed, the CA's words naming %s", report.Certificates, host)
	}

	e, err := cli.Explain(ctx, cl, ns, "app", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	steps := stepsByName(e)
	if s := steps["CA"]; s.State != "Failed" || !strings.HasPrefix(s.Detail, "the CA said: ") || !strings.Contains(s.Detail, host) {
		t.Errorf("CA step = %+v, want the CA's problem naming %s", s, host)
	}
	next := got.Status.LastFailureTime.Add(5 * time.Minute).UTC().Format(time.RFC3339)
	if s := steps["Order"]; s.State != "Failed" || !strings.HasPrefix(s.Detail, "1 failed attempt(s), the last at "+got.Status.LastFailureTime.UTC().Format(time.RFC3339)) ||
		!strings.Contains(s.Detail, "(OrderFailed); next attempt at "+next) || !strings.HasSuffix(s.Detail, "or now with `edgecert renew app`") {
		t.Errorf("Order step = %+v, want one failure and the next attempt at %s", s, next)
	}

	// Renew: a second attempt now, not when the backoff ends.
	firstFailure := got.Status.LastFailureTime.Time
	if _, err := cli.Renew(ctx, cl, cli.RenewRequest{Namespace: ns, Names: []string{"app"}}, time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "a second failed attempt answering the request", func() (bool, string) {
		if err := c().Get(ctx, client.ObjectKeyFromObject(cert), got); err != nil {
			return false, err.Error()
		}
		return got.Status.FailedIssuanceAttempts == 2 && got.Status.RenewalRequest == "2026-11-30T14:00:00Z" && got.Status.Order == nil,
			fmt.Sprintf("attempts %d, renewalRequest %q, order %+v", got.Status.FailedIssuanceAttempts, got.Status.RenewalRequest, got.Status.Order)
	})
	if second := got.Status.LastFailureTime.Time; !second.Before(firstFailure.Add(5 * time.Minute)) {
		t.Errorf("second attempt failed at %s, not before the backoff's end %s", second, firstFailure.Add(5*time.Minute))
	}
}
