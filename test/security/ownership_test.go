package security

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
)

// Item 5: a tenant labels a Secret the way edgecert labels its own
// (app.kubernetes.io/managed-by=edgecert, edgecert.dev/certificate-name)
// and points a Certificate at it. edgecert does not take it for its own:
// the Certificate is Ready=False SecretNotOwned, no order reaches the CA,
// and edgecert writes nothing to the Secret. In the same run, a
// Certificate with a Secret of its own is issued, and the Secret an older
// edgecert would have written (labels, no owner annotation) is adopted
// without a new order.
func TestALabelDoesNotMakeASecretEdgecerts(t *testing.T) {
	ctx := context.Background()
	admin := bed.ControlPlane.Client
	ctrlNS := namespace(t, "edgecert")
	startController(t, ctrlNS)
	ns := namespace(t, "tenant")
	iss := bed.Issuer(ns, "acme")
	bed.CreateIssuer(t, iss, ctrlNS)

	squatted := host("squat-" + ns)
	crt, key := testenv.SelfSigned(time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour), squatted)
	labelled := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-tls", Labels: map[string]string{
			"app.kubernetes.io/managed-by": "edgecert", "edgecert.dev/certificate-name": "web"}},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key},
	}
	if err := admin.Create(ctx, labelled); err != nil {
		t.Fatal(err)
	}
	ordersBefore := orders(t)
	web := &edgecertv1alpha1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{squatted}, SecretName: "web-tls",
			IssuerRef: edgecertv1alpha1.IssuerReference{Name: "acme", Kind: edgecertv1alpha1.IssuerKind}},
	}
	if err := admin.Create(ctx, web); err != nil {
		t.Fatal(err)
	}
	readyIs(t, web, metav1.ConditionFalse, edgecertv1alpha1.ReasonSecretNotOwned)

	writes := bed.ControlPlane.AuditWritesIn(t, ns, "after-squat")
	if n := testenv.CountWrites(writes, func(w testenv.AuditWrite) bool { return w.Resource == "secrets" && w.Name == "web-tls" }); n != 1 {
		t.Errorf("writes to Secret web-tls: %d, want 1 (the tenant's create)", n)
	}
	var after corev1.Secret
	if err := admin.Get(ctx, client.ObjectKeyFromObject(labelled), &after); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(labelled.Data, after.Data); diff != "" || len(after.Annotations) != 0 || after.ResourceVersion != labelled.ResourceVersion {
		t.Errorf("the labelled Secret changed: annotations %v, resourceVersion %s -> %s, data (-before +after):\n%s", after.Annotations, labelled.ResourceVersion, after.ResourceVersion, diff)
	}
	if got := orders(t); got != ordersBefore {
		t.Errorf("orders at the CA: %d, want %d (none for the squatted Secret)", got, ordersBefore)
	}
	noTXT(t, squatted)

	// The legitimate path: a Secret edgecert writes for its Certificate,
	// recorded by UID.
	app := &edgecertv1alpha1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{host("app-" + ns)}, SecretName: "app-tls",
			IssuerRef: edgecertv1alpha1.IssuerReference{Name: "acme", Kind: edgecertv1alpha1.IssuerKind}},
	}
	if err := admin.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	readyIs(t, app, metav1.ConditionTrue, edgecertv1alpha1.ReasonIssued)
	wantOwner := "Certificate/" + ns + "/app/" + string(app.UID)
	var issued corev1.Secret
	if err := admin.Get(ctx, types.NamespacedName{Namespace: ns, Name: "app-tls"}, &issued); err != nil {
		t.Fatal(err)
	}
	if got := issued.Annotations["edgecert.dev/owner"]; got != wantOwner {
		t.Fatalf("issued Secret's edgecert.dev/owner = %q, want %q", got, wantOwner)
	}

	// Upgrade: the Secret as an edgecert older than the owner annotation
	// left it. The next pass adopts it, with no new order.
	revision, ordersIssued := app.Status.Revision, orders(t)
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"edgecert.dev/owner":null}}}`))
	if err := admin.Patch(ctx, &issued, patch); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the older edgecert's Secret adopted", func() (bool, string) {
		var s corev1.Secret
		if err := admin.Get(ctx, client.ObjectKeyFromObject(&issued), &s); err != nil {
			return false, err.Error()
		}
		return s.Annotations["edgecert.dev/owner"] == wantOwner, "edgecert.dev/owner=" + s.Annotations["edgecert.dev/owner"]
	})
	readyIs(t, app, metav1.ConditionTrue, edgecertv1alpha1.ReasonIssued)
	if app.Status.Revision != revision || orders(t) != ordersIssued {
		t.Errorf("after adoption: revision %d, orders %d; want %d and %d (nothing re-issued)", app.Status.Revision, orders(t), revision, ordersIssued)
	}
}
