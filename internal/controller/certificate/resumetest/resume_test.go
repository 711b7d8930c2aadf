// Package resumetest proves that an ACME order survives a controller
// restart: it drives the Certificate reconciler by hand, with no manager in
// the background, throws the reconciler away in the middle of an order and
// lets a brand new one (new process state, new ACME client) finish it.
package resumetest

import (
	"context"
	"fmt"
	"os"
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
	"github.com/edgecert/edgecert/internal/controller"
	"github.com/edgecert/edgecert/internal/controller/certificate"
	"github.com/edgecert/edgecert/internal/controller/issuer"
	"github.com/edgecert/edgecert/internal/testenv"
)

var bed *testenv.Bed

func TestMain(m *testing.M) {
	var err error
	if bed, err = testenv.Start(testenv.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	bed.Stop()
	os.Exit(code)
}

// newOrders counts newOrder requests across every engine of the test.
var newOrders atomic.Int64

func newEngine() *acme.Engine {
	return &acme.Engine{Observe: func(endpoint, outcome string) {
		if endpoint == "newOrder" && outcome == "ok" {
			newOrders.Add(1)
		}
	}}
}

func newCertificateReconciler(c client.Client) *certificate.Reconciler {
	return &certificate.Reconciler{
		Client:  c,
		Secrets: controller.Secrets{Cached: c, Uncached: c},
		ACME:    newEngine(),
		Events:  events.NewFakeRecorder(100),
		Now:     time.Now,
	}
}

func TestRestartedControllerResumesTheSameOrder(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	ns, err := bed.ControlPlane.CreateNamespace(ctx, "resume")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tsig", Namespace: ns}, Data: map[string][]byte{"secret": []byte(bed.BIND.Key.Secret)}}); err != nil {
		t.Fatal(err)
	}
	iss := &edgecertv1alpha1.Issuer{
		ObjectMeta: metav1.ObjectMeta{Name: "pebble", Namespace: ns},
		Spec: edgecertv1alpha1.IssuerSpec{ACME: edgecertv1alpha1.ACMEIssuer{
			Server: bed.Pebble.DirectoryURL, CABundle: bed.Pebble.ServerCAPEM,
			PrivateKeySecretRef: edgecertv1alpha1.LocalSecretReference{Name: "account"},
			Solvers: []edgecertv1alpha1.ACMESolver{{DNS01: &edgecertv1alpha1.DNS01Solver{
				Nameservers: []string{bed.BIND.Addr},
				RFC2136: &edgecertv1alpha1.RFC2136Provider{Nameserver: bed.BIND.Addr, TSIGKeyName: bed.BIND.Key.Name, TSIGAlgorithm: "HMACSHA256",
					TSIGSecretRef: edgecertv1alpha1.SecretKeySelector{Name: "tsig", Key: "secret"}},
			}}},
		}},
	}
	if err := c.Create(ctx, iss); err != nil {
		t.Fatal(err)
	}
	ir := &issuer.Reconciler{Client: c, Secrets: controller.Secrets{Cached: c, Uncached: c}, ACME: newEngine(), Events: events.NewFakeRecorder(10),
		NewObject: func() edgecertv1alpha1.GenericIssuer { return &edgecertv1alpha1.Issuer{} }}
	if _, err := ir.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(iss)}); err != nil {
		t.Fatal(err)
	}

	cert := &edgecertv1alpha1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: "resumed", Namespace: ns},
		Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"resumed.example.test"}, SecretName: "resumed-tls",
			IssuerRef: edgecertv1alpha1.IssuerReference{Name: "pebble"}},
	}
	if err := c.Create(ctx, cert); err != nil {
		t.Fatal(err)
	}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(cert)}

	// First controller: one pass creates the order and records it; then it
	// "crashes" (is dropped).
	if _, err := newCertificateReconciler(c).Reconcile(ctx, req); err != nil {
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
	second := newCertificateReconciler(c)
	seen := map[string]bool{}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		res, err := second.Reconcile(ctx, req)
		if err != nil {
			t.Logf("pass error (retried): %v", err)
		}
		if err := c.Get(ctx, req.NamespacedName, cert); err != nil {
			t.Fatal(err)
		}
		if cert.Status.Order != nil {
			seen[cert.Status.Order.URL] = true
		}
		if meta.IsStatusConditionTrue(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition) {
			break
		}
		time.Sleep(min(res.RequeueAfter, 200*time.Millisecond))
	}
	if !meta.IsStatusConditionTrue(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition) {
		t.Fatalf("certificate not Ready after the restart: %+v", cert.Status.Conditions)
	}
	if len(seen) != 1 || !seen[firstOrder] {
		t.Errorf("orders seen after the restart = %v, want only the first order %s", seen, firstOrder)
	}
	if n := newOrders.Load(); n != 1 {
		t.Errorf("newOrder requests = %d, want exactly 1", n)
	}
	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "resumed-tls"}, &secret); err != nil {
		t.Fatalf("Secret not written: %v", err)
	}
}
