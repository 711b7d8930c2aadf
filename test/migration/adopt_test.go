package migration

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
)

// TestSecretsCertManagerIssuedAreTakenOverWithoutANewOrder: edgecert
// Certificates meet the Secrets cert-manager issued for them. While a
// cert-manager Certificate still manages its Secret, edgecert waits and
// says so, writing nothing; once it is gone, a Secret that matches is
// taken over as it is (same serial) and Pebble receives no order; one
// whose hosts do not match is reported and left byte for byte; and
// edgecert.dev/adopt takes one over while cert-manager's object remains.
func TestSecretsCertManagerIssuedAreTakenOverWithoutANewOrder(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	controllerNS := bed.Namespace(t, "edgecert")
	ns := bed.Namespace(t, "shop")
	bed.StartOneController(t, controllerNS)
	bed.CreateIssuer(t, bed.ClusterIssuer("le-migrate", bed.BINDSolver()), controllerNS)
	acme, err := bed.NewBareACME(ctx)
	if err != nil {
		t.Fatal(err)
	}

	type tc struct {
		name    string
		hosts   []string // what cert-manager issued
		want    []string // what the edgecert Certificate asks for
		managed bool     // cert-manager's Certificate stays
	}
	cases := []tc{
		{name: "web", hosts: []string{bed.Host("web-" + ns)}, want: []string{bed.Host("web-" + ns)}},
		{name: "api", hosts: []string{bed.Host("api-" + ns), bed.Host("www-api-" + ns)}, want: []string{bed.Host("www-api-" + ns), bed.Host("api-" + ns)}},
		{name: "wild", hosts: []string{"*." + bed.Host("wild-"+ns)}, want: []string{"*." + bed.Host("wild-"+ns)}},
		{name: "moved", hosts: []string{bed.Host("old-" + ns)}, want: []string{bed.Host("new-" + ns)}},
		{name: "kept", hosts: []string{bed.Host("kept-" + ns)}, want: []string{bed.Host("kept-" + ns)}, managed: true},
	}
	before := map[string]map[string][]byte{}
	serials := map[string]string{}
	for _, k := range cases {
		s := issuedByCertManager(t, acme, ns, k.name, k.name+"-tls", "le", true, k.hosts...)
		before[k.name], serials[k.name] = maps.Clone(s.Data), serial(t, s)
	}
	orders0 := bed.Orders(t)
	for _, k := range cases {
		cert := &edgecertv1alpha1.Certificate{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: k.name},
			Spec: edgecertv1alpha1.CertificateSpec{DNSNames: k.want, SecretName: k.name + "-tls",
				IssuerRef: edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.ClusterIssuerKind, Name: "le-migrate"}},
		}
		if err := c.Create(ctx, cert); err != nil {
			t.Fatal(err)
		}
	}
	// Every cert-manager Certificate still exists: edgecert waits.
	for _, k := range cases {
		got := waitReason(t, ns, k.name, edgecertv1alpha1.ReasonManagedByCertManager)
		if want := fmt.Sprintf(`Secret "%s-tls" is managed by cert-manager Certificate %s/%s: edgecert takes it over once that Certificate is deleted (or the Secret is annotated edgecert.dev/adopt: "true")`, k.name, ns, k.name); got != want {
			t.Errorf("%s: message = %q, want %q", k.name, got, want)
		}
	}

	// cert-manager's Certificates go, except one.
	for _, k := range cases {
		if k.managed {
			continue
		}
		cm := &unstructured.Unstructured{}
		cm.SetAPIVersion("cert-manager.io/v1")
		cm.SetKind("Certificate")
		cm.SetNamespace(ns)
		cm.SetName(k.name)
		if err := c.Delete(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"web", "api", "wild"} {
		waitReady(t, ns, k)
		if got := serial(t, getSecret(t, ns, k+"-tls")); got != serials[k] {
			t.Errorf("%s: serial %s, want %s (the certificate cert-manager issued)", k, got, serials[k])
		}
	}
	msg := waitReason(t, ns, "moved", edgecertv1alpha1.ReasonSecretNotAdoptable)
	if want := fmt.Sprintf(`Secret "moved-tls", issued by cert-manager (Certificate moved), is for %s, not %s: it is not adopted and not overwritten; delete it to issue anew, or change this Certificate`, bed.Host("old-"+ns), bed.Host("new-"+ns)); msg != want {
		t.Errorf("moved: message = %q, want %q", msg, want)
	}
	waitReason(t, ns, "kept", edgecertv1alpha1.ReasonManagedByCertManager)

	// Asked to, edgecert takes over the one cert-manager still has.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cert edgecertv1alpha1.Certificate
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kept"}, &cert); err != nil {
			return err
		}
		metav1.SetMetaDataAnnotation(&cert.ObjectMeta, "edgecert.dev/adopt", "true")
		return c.Update(ctx, &cert)
	}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ns, "kept")
	if got := serial(t, getSecret(t, ns, "kept-tls")); got != serials["kept"] {
		t.Errorf("kept: serial %s, want %s", got, serials["kept"])
	}

	if n := bed.Orders(t) - orders0; n != 0 {
		t.Errorf("Pebble received %d orders; taking over needs none", n)
	}
	for _, k := range cases {
		got := getSecret(t, ns, k.name+"-tls").Data
		if !maps.EqualFunc(got, before[k.name], bytes.Equal) {
			t.Errorf("Secret %s-tls: data changed", k.name)
		}
	}
	moved := getSecret(t, ns, "moved-tls")
	if _, ok := moved.Annotations["edgecert.dev/owner"]; ok {
		t.Error("the Secret that does not match was adopted")
	}
}

// waitReason waits for Ready=False with reason on Certificate ns/name and
// returns its message.
func waitReason(t *testing.T, ns, name, reason string) string {
	t.Helper()
	var msg string
	testenv.Eventually(t, fmt.Sprintf("Certificate %s/%s %s", ns, name, reason), func() (bool, string) {
		var cert edgecertv1alpha1.Certificate
		if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &cert); err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		if c == nil {
			return false, "no Ready condition"
		}
		msg = c.Message
		return c.Status == metav1.ConditionFalse && c.Reason == reason, c.Reason + ": " + c.Message
	})
	return msg
}

func waitReady(t *testing.T, ns, name string) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("Certificate %s/%s Ready", ns, name), func() (bool, string) {
		var cert edgecertv1alpha1.Certificate
		if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &cert); err != nil {
			return false, err.Error()
		}
		return meta.IsStatusConditionTrue(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition), fmt.Sprint(cert.Status.Conditions)
	})
}
