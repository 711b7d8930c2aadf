// Package lifecycletest drives the Certificate reconciler pass by pass, with
// no manager in the background, to test what needs control of time and of
// the process: an order surviving a controller restart, and renewal (ARI
// window, `replaces`) under an injected clock.
package lifecycletest

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/acme"
	"github.com/edgecert/edgecert/internal/controller/certificate"
	"github.com/edgecert/edgecert/internal/controller/issuer"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
)

var bed *testenv.Bed

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{}, &bed)
}

// newOrders and renewalInfos count newOrder and renewalInfo requests
// across every engine of the test.
var newOrders, renewalInfos atomic.Int64

func newEngine() *acme.Engine {
	return &acme.Engine{Observe: func(_, endpoint, outcome string) {
		switch {
		case endpoint == "newOrder" && outcome == "ok":
			newOrders.Add(1)
		case endpoint == "renewalInfo":
			renewalInfos.Add(1)
		}
	}}
}

func newCertificateReconciler(c client.Client, now func() time.Time) *certificate.Reconciler {
	return &certificate.Reconciler{
		Client:    c,
		APIReader: c,
		Secrets:   kube.Secrets{Cached: c, Uncached: c},
		ACME:      newEngine(),
		Events:    events.NewFakeRecorder(100),
		Now:       now,
		Rand:      func() float64 { return 0.5 },
	}
}

// setUp makes a namespace with a Ready Issuer (DNS-01 on the test BIND)
// and a Certificate for host, not yet reconciled.
func setUp(t *testing.T, host string) (*edgecertv1alpha1.Certificate, ctrl.Request) {
	t.Helper()
	return setUpWithCA(t, bed.Pebble, host)
}

// setUpWithCA is setUp against a given Pebble.
func setUpWithCA(t *testing.T, pebble *testenv.Pebble, host string) (*edgecertv1alpha1.Certificate, ctrl.Request) {
	t.Helper()
	ctx := context.Background()
	c := bed.ControlPlane.Client
	ns, err := bed.ControlPlane.CreateNamespace(ctx, "lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, bed.TSIGSecret(ns)); err != nil {
		t.Fatal(err)
	}
	iss := bed.Issuer(ns, "pebble")
	iss.Spec.ACME.Server, iss.Spec.ACME.CABundle = pebble.DirectoryURL, pebble.ServerCAPEM
	// Pebble picks a profile at random when none is asked for; the renewal
	// tests count on the 90 days of "default".
	iss.Spec.ACME.Profile = "default"
	if err := c.Create(ctx, iss); err != nil {
		t.Fatal(err)
	}
	ir := &issuer.Reconciler{Client: c, Secrets: kube.Secrets{Cached: c, Uncached: c}, ACME: newEngine(), Events: events.NewFakeRecorder(10),
		NewObject: func() edgecertv1alpha1.GenericIssuer { return &edgecertv1alpha1.Issuer{} }}
	if _, err := ir.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(iss)}); err != nil {
		t.Fatal(err)
	}

	cert := &edgecertv1alpha1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{host}, SecretName: "app-tls",
			IssuerRef: edgecertv1alpha1.IssuerReference{Name: "pebble"}},
	}
	if err := c.Create(ctx, cert); err != nil {
		t.Fatal(err)
	}
	return cert, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(cert)}
}

// untilReady runs passes like the workqueue would until the Certificate is
// Ready at the given revision, and returns the order URLs it saw.
func untilReady(t *testing.T, r *certificate.Reconciler, cert *edgecertv1alpha1.Certificate, revision int) map[string]bool {
	t.Helper()
	ctx := context.Background()
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(cert)}
	seen := map[string]bool{}
	deadline := time.Now().Add(testenv.DefaultBound)
	for time.Now().Before(deadline) {
		res, err := r.Reconcile(ctx, req)
		if err != nil {
			t.Logf("pass error (retried): %v", err)
		}
		if err := bed.ControlPlane.Client.Get(ctx, req.NamespacedName, cert); err != nil {
			t.Fatal(err)
		}
		if cert.Status.Order != nil {
			seen[cert.Status.Order.URL] = true
		}
		if cert.Status.Revision == revision && meta.IsStatusConditionTrue(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition) {
			return seen
		}
		time.Sleep(min(res.RequeueAfter, 200*time.Millisecond))
	}
	t.Fatalf("certificate not Ready at revision %d: revision %d, %+v", revision, cert.Status.Revision, cert.Status.Conditions)
	return nil
}

func TestRestartedControllerResumesTheSameOrder(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	newOrders.Store(0)
	cert, req := setUp(t, "resumed.example.test")

	// First controller: one pass creates the order and records it; then it
	// "crashes" (is dropped).
	if _, err := newCertificateReconciler(c, time.Now).Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, req.NamespacedName, cert); err != nil {
		t.Fatal(err)
	}
	if cert.Status.Order == nil || cert.Status.Order.URL == "" {
		t.Fatalf("after the first pass status.order = %+v, want the order recorded", cert.Status.Order)
	}
	firstOrder := cert.Status.Order.URL

	// Second controller: fresh state, same cluster. It must finish that order.
	seen := untilReady(t, newCertificateReconciler(c, time.Now), cert, 1)
	if len(seen) != 1 || !seen[firstOrder] {
		t.Errorf("orders seen after the restart = %v, want only the first order %s", seen, firstOrder)
	}
	if n := newOrders.Load(); n != 1 {
		t.Errorf("newOrder requests = %d, want exactly 1", n)
	}
	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: cert.Namespace, Name: "app-tls"}, &secret); err != nil {
		t.Fatalf("Secret not written: %v", err)
	}
}

// clock is the real time shifted by an offset a test sets.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the shifted time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Set shifts the clock so that it reads t now.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = time.Until(t)
}

// pebbleARIRetry is the Retry-After Pebble puts on every renewalInfo
// answer: the interval edgecert asks again at.
const pebbleARIRetry = 6 * time.Hour

func TestRenewalFollowsARIAndNamesTheReplacedCertificate(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	cert, _ := setUp(t, "renew.example.test")
	clk := &clock{}
	r := newCertificateReconciler(c, clk.Now)
	untilReady(t, r, cert, 1)
	old := secretLeaf(t, cert)

	// Pebble offers ACME Renewal Information: its window is two days
	// around two thirds of the lifetime, and edgecert renews at the middle
	// of it (Rand is 0.5).
	if cert.Status.RenewalInfo == nil {
		t.Fatal("status.renewalInfo is empty: the CA's window was not recorded")
	}
	lifetime := old.NotAfter.Add(time.Second).Sub(old.NotBefore)
	ideal := old.NotAfter.Add(-lifetime / 3)
	if got, want := cert.Status.RenewalInfo.SuggestedWindowStart.Time, ideal.Add(-24*time.Hour).Truncate(time.Second); !got.Equal(want) {
		t.Errorf("window start = %s, want %s", got, want)
	}
	rt := cert.Status.RenewalTime.Time
	if rt.Before(ideal.Add(-24*time.Hour)) || rt.After(ideal.Add(24*time.Hour)) {
		t.Fatalf("renewalTime %s is not within Pebble's window around %s", rt, ideal)
	}
	// Before the renewal time a pass changes nothing and comes back when
	// the CA said to ask for the window again.
	res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(cert)})
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter < pebbleARIRetry-time.Minute || res.RequeueAfter > pebbleARIRetry {
		t.Errorf("RequeueAfter = %s, want about %s (Pebble's Retry-After)", res.RequeueAfter, pebbleARIRetry)
	}

	clk.Set(rt.Add(time.Second))
	wantReplaces, err := acme.ARIIdentifier(old)
	if err != nil {
		t.Fatal(err)
	}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(cert)}
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, req.NamespacedName, cert); err != nil {
		t.Fatal(err)
	}
	if cert.Status.Order == nil {
		t.Fatalf("no renewal order after the renewal time: %+v", cert.Status.Conditions)
	}
	replaces := cert.Status.Order.Replaces
	if cond := meta.FindStatusCondition(cert.Status.Conditions, edgecertv1alpha1.IssuingCondition); cond == nil || cond.Reason != edgecertv1alpha1.ReasonRenewing {
		t.Errorf("Issuing condition = %+v, want reason Renewing", cond)
	}
	if !meta.IsStatusConditionTrue(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition) {
		t.Error("Ready went False during renewal; the old certificate is still valid")
	}
	untilReady(t, r, cert, 2)
	if replaces != wantReplaces {
		t.Errorf("renewal order replaces = %q, want %q", replaces, wantReplaces)
	}
	renewed := secretLeaf(t, cert)
	if renewed.SerialNumber.Cmp(old.SerialNumber) == 0 {
		t.Error("the Secret still holds the old certificate")
	}
}

// A CA that moves a certificate's renewal window into the past (what Let's
// Encrypt does before a mass revocation) gets it renewed at the next
// question, one Retry-After after the last: months before the lifetime rule
// or the first window would have renewed it. Asking earlier than the CA
// said is not allowed, and nothing happens before that.
func TestRenewalWindowMovedByTheCARenewsAtTheNextQuestion(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	cert, req := setUp(t, "moved.example.test")
	clk := &clock{}
	r := newCertificateReconciler(c, clk.Now)
	untilReady(t, r, cert, 1)
	issuedAt := time.Now()
	old := secretLeaf(t, cert)
	firstRenewal := cert.Status.RenewalTime.Time
	if firstRenewal.Sub(issuedAt) < 30*24*time.Hour {
		t.Fatalf("renewalTime %s is not months away; the test needs a certificate far from renewal", firstRenewal)
	}

	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: cert.Namespace, Name: cert.Spec.SecretName}, &secret); err != nil {
		t.Fatal(err)
	}
	start, end := issuedAt.Add(-2*time.Hour).UTC(), issuedAt.Add(-time.Hour).UTC()
	ari := fmt.Sprintf(`{"suggestedWindow":{"start":%q,"end":%q},"explanationURL":"https://ca.test/incident"}`, start.Format(time.RFC3339), end.Format(time.RFC3339))
	if err := bed.Pebble.SetRenewalInfo(secret.Data["tls.crt"], ari); err != nil {
		t.Fatal(err)
	}

	// An hour later, before the CA's Retry-After: no question, no change.
	asked := renewalInfos.Load()
	clk.Set(issuedAt.Add(time.Hour))
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if n := renewalInfos.Load() - asked; n != 0 {
		t.Errorf("renewalInfo asked %d times before the CA's Retry-After, want 0", n)
	}
	if err := c.Get(ctx, req.NamespacedName, cert); err != nil {
		t.Fatal(err)
	}
	if cert.Status.Revision != 1 || cert.Status.Order != nil || !cert.Status.RenewalTime.Time.Equal(firstRenewal) {
		t.Fatalf("before the next question: revision %d, order %+v, renewalTime %s; want 1, none, %s", cert.Status.Revision, cert.Status.Order, cert.Status.RenewalTime, firstRenewal)
	}

	// At the next question the window has moved: renewal now.
	clk.Set(issuedAt.Add(pebbleARIRetry + time.Second))
	untilReady(t, r, cert, 2)
	if n := renewalInfos.Load() - asked; n < 1 {
		t.Errorf("renewalInfo asked %d times after the Retry-After, want at least 1", n)
	}
	if renewed := secretLeaf(t, cert); renewed.SerialNumber.Cmp(old.SerialNumber) == 0 {
		t.Error("the Secret still holds the old certificate")
	}
	notes := r.Events.(*events.FakeRecorder).Events
	found := false
	for len(notes) > 0 && !found {
		found = strings.Contains(<-notes, "RenewalWindowMoved")
	}
	if !found {
		t.Error("no RenewalWindowMoved event")
	}
}

func secretLeaf(t *testing.T, cert *edgecertv1alpha1.Certificate) *x509.Certificate {
	t.Helper()
	var secret corev1.Secret
	if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: cert.Namespace, Name: cert.Spec.SecretName}, &secret); err != nil {
		t.Fatal(err)
	}
	kp, err := pki.ParseKeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
	if err != nil {
		t.Fatal(err)
	}
	return kp.Leaf
}

// With Pebble rejecting 15% of nonces, issuance still converges: badNonce
// is retried with the fresh nonce the CA sends.
func TestIssuanceConvergesWhenTheCARejectsNonces(t *testing.T) {
	pebble, err := testenv.StartPebble(testenv.PebbleOptions{DNSServer: bed.BIND.Addr, Env: []string{"PEBBLE_WFE_NONCEREJECT=15"}})
	if err != nil {
		t.Fatal(err)
	}
	defer pebble.Stop()
	ctx := context.Background()
	c := bed.ControlPlane.Client
	for i := range 5 {
		cert, _ := setUpWithCA(t, pebble, fmt.Sprintf("nonce-%d.example.test", i))
		untilReady(t, newCertificateReconciler(c, time.Now), cert, 1)
		var secret corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: cert.Namespace, Name: cert.Spec.SecretName}, &secret); err != nil {
			t.Fatal(err)
		}
	}
}

// A request to renew (edgecert.dev/renew-requested-at, what `edgecert
// renew` sets) is answered by exactly one order: the passes after the
// renewal order nothing more, and only a new value asks again.
func TestRenewRequestIsAnsweredByOneOrder(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	newOrders.Store(0)
	cert, req := setUp(t, "renew-now.example.test")
	r := newCertificateReconciler(c, time.Now)
	untilReady(t, r, cert, 1)

	request := func(value string) {
		t.Helper()
		patch := client.MergeFrom(cert.DeepCopy())
		metav1.SetMetaDataAnnotation(&cert.ObjectMeta, edgecertv1alpha1.RenewRequestedAtAnnotation, value)
		if err := c.Patch(ctx, cert, patch); err != nil {
			t.Fatal(err)
		}
	}
	request("2026-11-30T10:00:00Z")
	untilReady(t, r, cert, 2)
	if cert.Status.RenewalRequest != "2026-11-30T10:00:00Z" {
		t.Errorf("status.renewalRequest = %q, want the annotation's value", cert.Status.RenewalRequest)
	}
	for range 3 {
		if _, err := r.Reconcile(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Get(ctx, req.NamespacedName, cert); err != nil {
		t.Fatal(err)
	}
	if n := newOrders.Load(); n != 2 || cert.Status.Revision != 2 || cert.Status.Order != nil {
		t.Errorf("after three more passes: newOrder requests = %d, revision %d, order %+v; want 2, 2 and none", n, cert.Status.Revision, cert.Status.Order)
	}

	request("2026-11-30T11:00:00Z")
	untilReady(t, r, cert, 3)
	if n := newOrders.Load(); n != 3 {
		t.Errorf("newOrder requests = %d after a second request, want 3", n)
	}
}
