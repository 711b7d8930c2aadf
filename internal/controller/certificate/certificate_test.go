package certificate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	acmez "github.com/mholt/acmez/v3/acme"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/dns/route53/route53test"
	"github.com/edgecert/edgecert/internal/manager"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
	"github.com/edgecert/edgecert/internal/testenv/managertest"
)

var bed *testenv.Bed

func TestMain(m *testing.M) {
	// The Route 53 test's namespaced Issuer points at the Route 53 test
	// double, an endpoint override the platform must allow for Issuers
	// (test/security checks the default).
	managertest.Main(m, managertest.Options{Configure: func(o *manager.Options) { o.IssuerAmbientCredentials = true }}, &bed)
}

// newIssuer creates, in a fresh namespace, an Issuer for the test Pebble
// with a DNS-01 solver on the test BIND for dns.example.test, and an
// HTTP-01 solver for everything else; and waits for it to be Ready.
func newIssuer(t *testing.T) (string, *edgecertv1alpha1.Issuer) {
	t.Helper()
	return newIssuerWithHTTP01(t, &edgecertv1alpha1.HTTP01Solver{})
}

// newIssuerWithHTTP01 is newIssuer with the given HTTP-01 solver.
func newIssuerWithHTTP01(t *testing.T, http01 *edgecertv1alpha1.HTTP01Solver) (string, *edgecertv1alpha1.Issuer) {
	t.Helper()
	ns, err := bed.ControlPlane.CreateNamespace(context.Background(), "cert")
	if err != nil {
		t.Fatal(err)
	}
	iss := bed.Issuer(ns, "pebble", edgecertv1alpha1.ACMESolver{HTTP01: http01}, bed.BINDSolver("dns.example.test"))
	iss.Spec.ACME.Email = "ops@example.test"
	bed.CreateIssuer(t, iss, managertest.ControllerNamespace)
	if !strings.HasPrefix(iss.Status.AccountURI, "https://127.0.0.1:") {
		t.Fatalf("account URI = %q, want Pebble's", iss.Status.AccountURI)
	}
	return ns, iss
}

func newCertificate(t *testing.T, ns, name string, hosts ...string) *edgecertv1alpha1.Certificate {
	t.Helper()
	return newCertificateFor(t, edgecertv1alpha1.IssuerReference{Name: "pebble"}, ns, name, hosts...)
}

// newCertificateFor is newCertificate for the issuer ref.
func newCertificateFor(t *testing.T, ref edgecertv1alpha1.IssuerReference, ns, name string, hosts ...string) *edgecertv1alpha1.Certificate {
	t.Helper()
	cert := &edgecertv1alpha1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: edgecertv1alpha1.CertificateSpec{
			DNSNames:       hosts,
			SecretName:     name + "-tls",
			IssuerRef:      ref,
			SecretTemplate: &edgecertv1alpha1.SecretTemplate{Labels: map[string]string{"bundle": "edge"}, Annotations: map[string]string{"team": "web"}},
		},
	}
	if err := bed.ControlPlane.Client.Create(context.Background(), cert); err != nil {
		t.Fatal(err)
	}
	return cert
}

// waitReady waits for the Certificate's Ready condition to have status and
// returns the Certificate.
func waitReady(t *testing.T, cert *edgecertv1alpha1.Certificate, status metav1.ConditionStatus, reason string) *edgecertv1alpha1.Certificate {
	t.Helper()
	got := &edgecertv1alpha1.Certificate{}
	testenv.Eventually(t, "certificate "+cert.Name+" Ready="+string(status), func() (bool, string) {
		if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKeyFromObject(cert), got); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		return cond != nil && cond.Status == status && cond.Reason == reason, fmt.Sprintf("%+v", got.Status.Conditions)
	})
	return got
}

func checkSecret(t *testing.T, cert *edgecertv1alpha1.Certificate, hosts ...string) *pki.KeyPair {
	t.Helper()
	var secret corev1.Secret
	if err := bed.ControlPlane.Client.Get(context.Background(), types.NamespacedName{Namespace: cert.Namespace, Name: cert.Spec.SecretName}, &secret); err != nil {
		t.Fatal(err)
	}
	if secret.Type != corev1.SecretTypeTLS {
		t.Errorf("Secret type = %s, want kubernetes.io/tls", secret.Type)
	}
	if secret.Labels["bundle"] != "edge" || secret.Annotations["team"] != "web" || secret.Annotations["edgecert.dev/issuer-name"] != cert.Spec.IssuerRef.Name {
		t.Errorf("Secret metadata = %v / %v, want the template's labels and annotations and edgecert's", secret.Labels, secret.Annotations)
	}
	kp, err := pki.ParseKeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
	if err != nil {
		t.Fatalf("Secret does not hold a matching key pair: %v", err)
	}
	if missing := pki.Uncovered(kp.Leaf, hosts); len(missing) > 0 {
		t.Errorf("certificate does not cover %v (it has %v)", missing, kp.Leaf.DNSNames)
	}
	if len(kp.Intermediates) == 0 {
		t.Error("tls.crt holds no intermediate: the chain must follow the leaf")
	}
	return kp
}

func TestDNS01IssuesWildcardAndCleansUpTXT(t *testing.T) {
	ns, _ := newIssuer(t)
	hosts := []string{"shop.dns.example.test", "*.shop.dns.example.test"}
	cert := newCertificate(t, ns, "shop", hosts...)
	got := waitReady(t, cert, metav1.ConditionTrue, edgecertv1alpha1.ReasonIssued)
	kp := checkSecret(t, cert, append(hosts, "any.shop.dns.example.test")...)
	if got.Status.NotAfter == nil || !got.Status.NotAfter.Time.Equal(kp.Leaf.NotAfter.Truncate(time.Second)) {
		t.Errorf("status.notAfter = %v, want the leaf's %v", got.Status.NotAfter, kp.Leaf.NotAfter)
	}
	if got.Status.RenewalTime == nil || !got.Status.RenewalTime.Before(got.Status.NotAfter) {
		t.Errorf("status.renewalTime = %v, want before notAfter", got.Status.RenewalTime)
	}
	if got.Status.Order != nil || got.Status.Revision != 1 {
		t.Errorf("status.order = %+v, revision %d; want no order in flight and revision 1", got.Status.Order, got.Status.Revision)
	}
	if txt := queryTXT(t, "_acme-challenge.shop.dns.example.test."); len(txt) != 0 {
		t.Errorf("TXT records left behind: %v", txt)
	}
}

func TestHTTP01IssuesThroughTheControllersListener(t *testing.T) {
	ns, _ := newIssuer(t)
	cert := newCertificate(t, ns, "web", "web.example.test")
	waitReady(t, cert, metav1.ConditionTrue, edgecertv1alpha1.ReasonIssued)
	checkSecret(t, cert, "web.example.test")
}

func TestWildcardWithOnlyHTTP01IsStalled(t *testing.T) {
	ns, _ := newIssuer(t)
	cert := newCertificate(t, ns, "wild", "*.web.example.test")
	got := waitReady(t, cert, metav1.ConditionFalse, edgecertv1alpha1.ReasonInvalidSpec)
	cond := meta.FindStatusCondition(got.Status.Conditions, edgecertv1alpha1.ReadyCondition)
	if want := "no dns01 solver matches *.web.example.test: wildcard certificates need DNS-01"; cond.Message != want {
		t.Errorf("message = %q, want %q", cond.Message, want)
	}
	if !meta.IsStatusConditionTrue(got.Status.Conditions, edgecertv1alpha1.StalledCondition) {
		t.Error("Stalled is not True")
	}
}

func TestFailedChallengeReportsTheCAsReasonAndBacksOff(t *testing.T) {
	// Without the self-check, which would keep the CA from ever being
	// asked (TestHTTP01SelfCheckHoldsTheChallengeUntilTheAnswerIsReachable).
	ns, _ := newIssuerWithHTTP01(t, &edgecertv1alpha1.HTTP01Solver{SkipSelfCheck: true})
	// BIND does not serve unknown.test: Pebble cannot resolve the host.
	cert := newCertificate(t, ns, "lost", "lost.unknown.test")
	got := waitReady(t, cert, metav1.ConditionFalse, edgecertv1alpha1.ReasonOrderFailed)
	cond := meta.FindStatusCondition(got.Status.Conditions, edgecertv1alpha1.ReadyCondition)
	if !strings.HasPrefix(cond.Message, "connection: ") || !strings.Contains(cond.Message, "could not resolve URL \"http://lost.unknown.test:") {
		t.Errorf("message = %q, want the CA's problem: connection, could not resolve lost.unknown.test", cond.Message)
	}
	if got.Status.FailedIssuanceAttempts != 1 || got.Status.LastFailureTime == nil || got.Status.Order != nil {
		t.Errorf("failedIssuanceAttempts = %d, lastFailureTime = %v, order = %v; want 1, set, nil", got.Status.FailedIssuanceAttempts, got.Status.LastFailureTime, got.Status.Order)
	}
}

func TestSecretNotCreatedByEdgecertIsNotOverwritten(t *testing.T) {
	ns, _ := newIssuer(t)
	mine := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "taken-tls", Namespace: ns}, Data: map[string][]byte{"keep": []byte("me")}}
	if err := bed.ControlPlane.Client.Create(context.Background(), mine); err != nil {
		t.Fatal(err)
	}
	cert := newCertificate(t, ns, "taken", "taken.example.test")
	got := waitReady(t, cert, metav1.ConditionFalse, edgecertv1alpha1.ReasonSecretNotOwned)
	if !meta.IsStatusConditionTrue(got.Status.Conditions, edgecertv1alpha1.StalledCondition) {
		t.Error("Stalled is not True")
	}
	var after corev1.Secret
	if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKeyFromObject(mine), &after); err != nil {
		t.Fatal(err)
	}
	if string(after.Data["keep"]) != "me" || len(after.Data) != 1 {
		t.Errorf("someone else's Secret was changed: %v", after.Data)
	}
}

func TestCRDRefusesBadSpecs(t *testing.T) {
	ns, _ := newIssuer(t)
	for name, hosts := range map[string][]string{
		"empty":     nil,
		"malformed": {"not a host"},
		"upper":     {"Shop.example.test"},
	} {
		cert := &edgecertv1alpha1.Certificate{
			ObjectMeta: metav1.ObjectMeta{Name: "bad-" + name, Namespace: ns},
			Spec:       edgecertv1alpha1.CertificateSpec{DNSNames: hosts, SecretName: "x", IssuerRef: edgecertv1alpha1.IssuerReference{Name: "pebble"}},
		}
		if err := bed.ControlPlane.Client.Create(context.Background(), cert); err == nil || !strings.Contains(err.Error(), "spec.dnsNames") {
			t.Errorf("%s hosts %q: err = %v, want a spec.dnsNames validation error", name, hosts, err)
		}
	}
	cert := &edgecertv1alpha1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: "bad-key", Namespace: ns},
		Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"a.example.test"}, SecretName: "x", IssuerRef: edgecertv1alpha1.IssuerReference{Name: "pebble"},
			PrivateKey: &edgecertv1alpha1.PrivateKeySpec{Algorithm: "RSA", Size: 1024}},
	}
	if err := bed.ControlPlane.Client.Create(context.Background(), cert); err == nil || !strings.Contains(err.Error(), "size must be") {
		t.Errorf("RSA 1024: err = %v, want the CEL size message", err)
	}
}

func TestUnknownIssuerIsReported(t *testing.T) {
	ns, _ := newIssuer(t)
	cert := newCertificate(t, ns, "orphan", "orphan.example.test")
	// The controller writes the Certificate too (finalizer, status): retry
	// with a fresh copy until the update lands.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var fresh edgecertv1alpha1.Certificate
		if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKeyFromObject(cert), &fresh); err != nil {
			return err
		}
		fresh.Spec.IssuerRef.Name = "nope"
		return bed.ControlPlane.Client.Update(context.Background(), &fresh)
	}); err != nil {
		t.Fatal(err)
	}
	_ = waitReadyMessage(t, cert, edgecertv1alpha1.ReasonIssuerNotReady, `Issuer "nope"`)
}

func waitReadyMessage(t *testing.T, cert *edgecertv1alpha1.Certificate, reason, substr string) *edgecertv1alpha1.Certificate {
	t.Helper()
	got := &edgecertv1alpha1.Certificate{}
	testenv.Eventually(t, "certificate "+cert.Name+" reason "+reason, func() (bool, string) {
		if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKeyFromObject(cert), got); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		return cond != nil && cond.Reason == reason && strings.Contains(cond.Message, substr), fmt.Sprintf("%+v", cond)
	})
	return got
}

func queryTXT(t *testing.T, name string) []string {
	t.Helper()
	txt, err := bed.BIND.TXT(name)
	if err != nil {
		t.Fatal(err)
	}
	return txt
}

// The Route53 provider is wired into issuers: the TXT record of a pending
// DNS-01 challenge lands in Route53 (here a local test double speaking the
// Route53 API, since AWS cannot be reached from the test machine).
func TestRoute53SolverPublishesTheChallengeRecord(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	r53 := route53test.NewServer()
	defer r53.Close()
	r53.AddZone("example.test.")
	ns, iss := newIssuer(t)
	if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws", Namespace: ns}, Data: map[string][]byte{"id": []byte("AKIDTEST"), "key": []byte("secret")}}); err != nil {
		t.Fatal(err)
	}
	iss.Spec.ACME.Solvers = append(iss.Spec.ACME.Solvers, edgecertv1alpha1.ACMESolver{
		Selector: &edgecertv1alpha1.SolverSelector{DNSZones: []string{"r53.example.test"}},
		DNS01: &edgecertv1alpha1.DNS01Solver{
			Nameservers: []string{bed.BIND.Addr},
			Route53: &edgecertv1alpha1.Route53Provider{
				Region: "us-east-1", Endpoint: r53.URL,
				AccessKeyIDSecretRef:     &edgecertv1alpha1.SecretKeySelector{Name: "aws", Key: "id"},
				SecretAccessKeySecretRef: &edgecertv1alpha1.SecretKeySelector{Name: "aws", Key: "key"},
			},
		},
	})
	if err := c.Update(ctx, iss); err != nil {
		t.Fatal(err)
	}
	cert := newCertificate(t, ns, "r53", "app.r53.example.test")
	t.Cleanup(func() { _ = c.Delete(context.Background(), cert) })
	// The record is in Route53, and edgecert has looked for it at the
	// authoritative server (BIND, which does not have it) and waits.
	var got edgecertv1alpha1.Certificate
	wantWaiting := "Waiting for TXT record _acme-challenge.app.r53.example.test. (zone example.test.) to be served by every authoritative server"
	testenv.Eventually(t, "TXT record in Route53, and edgecert waiting for it to propagate", func() (bool, string) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(cert), &got); err != nil || got.Status.Order == nil || len(got.Status.Order.Challenges) != 1 {
			return false, fmt.Sprintf("order %+v", got.Status.Order)
		}
		want := got.Status.Order.Challenges[0].DNS01Value
		txt := r53.TXT("_acme-challenge.app.r53.example.test.")
		waiting := meta.FindStatusCondition(got.Status.Conditions, edgecertv1alpha1.ReconcilingCondition)
		return len(txt) == 1 && txt[0] == want && waiting != nil && waiting.Status == metav1.ConditionTrue &&
				waiting.Reason == edgecertv1alpha1.ReasonWaitingForDNSPropagation && waiting.Message == wantWaiting,
			fmt.Sprintf("Route53 TXT %v, want [%s]; conditions %+v", txt, want, got.Status.Conditions)
	})
	ch := got.Status.Order.Challenges[0]
	if ch.Zone != "example.test." || ch.RecordName != "_acme-challenge.app.r53.example.test." {
		t.Errorf("challenge zone/record = %s %s", ch.Zone, ch.RecordName)
	}
	// So edgecert has not told the CA to validate: at Pebble, the
	// authorization and its dns-01 challenge are still pending (a challenge
	// the CA was told to validate is processing, then invalid here).
	authz := pebbleAuthorization(t, iss, ch.AuthorizationURL)
	if authz.Status != "pending" {
		t.Errorf("authorization %s is %s at Pebble, want pending", ch.AuthorizationURL, authz.Status)
	}
	var statuses []string
	for _, c := range authz.Challenges {
		if c.URL == ch.URL {
			statuses = append(statuses, c.Type+" "+c.Status)
		}
	}
	if diff := cmp.Diff([]string{"dns-01 pending"}, statuses); diff != "" {
		t.Errorf("challenge %s at Pebble (-want +got):\n%s", ch.URL, diff)
	}
}

// pebbleAuthorization reads an authorization from Pebble (a POST-as-GET
// signed with the issuer's account key, read from its Secret), to see what
// the CA was told, with an ACME client of its own.
func pebbleAuthorization(t *testing.T, iss *edgecertv1alpha1.Issuer, url string) acmez.Authorization {
	t.Helper()
	ctx := context.Background()
	var secret corev1.Secret
	if err := bed.ControlPlane.Client.Get(ctx, types.NamespacedName{Namespace: iss.Namespace, Name: iss.Spec.ACME.PrivateKeySecretRef.Name}, &secret); err != nil {
		t.Fatal(err)
	}
	key, err := pki.ParseKey(secret.Data[edgecertv1alpha1.AccountKeyDataKey])
	if err != nil {
		t.Fatal(err)
	}
	cl := &acmez.Client{Directory: bed.Pebble.DirectoryURL, HTTPClient: bed.Pebble.HTTPClient()}
	authz, err := cl.GetAuthorization(ctx, acmez.Account{PrivateKey: key, Location: iss.Status.AccountURI}, url)
	if err != nil {
		t.Fatalf("get authorization %s from Pebble: %v", url, err)
	}
	return authz
}

// A failed order leaves nothing in DNS: the TXT record of the host that
// could be validated is removed with the rest.
func TestFailedOrderRemovesItsTXTRecords(t *testing.T) {
	// Without the HTTP-01 self-check, so that the CA fails half.unknown.test.
	ns, _ := newIssuerWithHTTP01(t, &edgecertv1alpha1.HTTP01Solver{SkipSelfCheck: true})
	cert := newCertificate(t, ns, "half", "half.dns.example.test", "half.unknown.test")
	got := waitReady(t, cert, metav1.ConditionFalse, edgecertv1alpha1.ReasonOrderFailed)
	cond := meta.FindStatusCondition(got.Status.Conditions, edgecertv1alpha1.ReadyCondition)
	if !strings.Contains(cond.Message, "half.unknown.test") {
		t.Errorf("message = %q, want the CA's problem naming half.unknown.test", cond.Message)
	}
	if txt := queryTXT(t, "_acme-challenge.half.dns.example.test."); len(txt) != 0 {
		t.Errorf("TXT records left behind after the failed order: %v", txt)
	}
}
