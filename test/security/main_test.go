// Package security acts out, on the real test bed, what a tenant of a shared
// cluster could try in order to get a certificate, a route, a Secret or a DNS
// record for a host it does not own (issue 12, one test per way found), and
// checks each where it would show: the orders Pebble received, the Secrets
// and routes in the victim's namespace, the records in BIND, the writes in
// the API server's audit log. The same suite shows the legitimate path still
// working. The threat model is docs/security.md.
package security

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgecert/edgecert/internal/testenv"
)

var bed *testenv.Bed

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{ControlPlane: testenv.ControlPlaneOptions{Audit: true}}, &bed)
}

// startController runs `edgecert controller` against the bed with
// edgecert's namespace ns and extra flags, leader election off.
func startController(t *testing.T, ns string, extra ...string) *testenv.Controller {
	t.Helper()
	return bed.StartOneController(t, ns, extra...)
}

func namespace(t *testing.T, prefix string) string { t.Helper(); return bed.Namespace(t, prefix) }

func host(label string) string { return bed.Host(label) }

func orders(t *testing.T) int { t.Helper(); return bed.Orders(t) }

// noSecret fails the test when Secret ns/name exists.
func noSecret(t *testing.T, ns, name string) {
	t.Helper()
	err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &corev1.Secret{})
	if err == nil {
		t.Errorf("Secret %s/%s exists", ns, name)
	} else if !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

// noTXT fails the test when BIND holds a TXT record for the challenge of h.
func noTXT(t *testing.T, h string) {
	t.Helper()
	txt, err := bed.BIND.TXT("_acme-challenge." + h + ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(txt) != 0 {
		t.Errorf("TXT records for %s: %v", h, txt)
	}
}

// writesIn counts the writes the audit log holds in namespace ns for
// resource, by any user.
func writesIn(t *testing.T, ns, resource string) int {
	t.Helper()
	ws, err := bed.ControlPlane.AuditWrites()
	if err != nil {
		t.Fatal(err)
	}
	return testenv.CountWrites(ws, func(w testenv.AuditWrite) bool { return w.Namespace == ns && w.Resource == resource })
}
