package security

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
)

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
