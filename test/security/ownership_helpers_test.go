package security

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
)

// writesUpToNow returns the writes audited in namespace ns so far: it
// creates a marker ConfigMap and waits for its record, so every write that
// completed before it is in the list.
func writesUpToNow(t *testing.T, ns, marker string) []testenv.AuditWrite {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: marker}}
	if err := bed.ControlPlane.Client.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	var writes []testenv.AuditWrite
	testenv.Eventually(t, "the marker's record in the audit log", func() (bool, string) {
		all, err := bed.ControlPlane.AuditWrites()
		if err != nil {
			return false, err.Error()
		}
		writes = writes[:0]
		seen := false
		for _, w := range all {
			if w.Namespace == ns {
				writes = append(writes, w)
				seen = seen || w.Resource == "configmaps" && w.Name == marker
			}
		}
		return seen, fmt.Sprintf("%d writes in %s, no marker", len(writes), ns)
	})
	return writes
}

// readyIs waits until cert's Ready condition has status and reason, and
// leaves cert as last read.
func readyIs(t *testing.T, cert *edgecertv1alpha1.Certificate, status metav1.ConditionStatus, reason string) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("Certificate %s Ready=%s %s", cert.Name, status, reason), func() (bool, string) {
		if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKeyFromObject(cert), cert); err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		if c == nil {
			return false, "no Ready condition"
		}
		return c.Status == status && c.Reason == reason && c.ObservedGeneration == cert.Generation, string(c.Status) + " " + c.Reason + ": " + c.Message
	})
}
