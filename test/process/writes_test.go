package process

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
)

// Each issuance writes its Secret once and records one Issued event, and
// the controller writes each Certificate only as often as its state
// changes: counted in the API server's audit log.
func TestOneSecretWriteAndOneIssuedEventPerIssuance(t *testing.T) {
	const n = 10
	controllerNS, certNS := setUpNamespaces(t)
	ctl := startController(t, controllerNS)
	waitLeader(t, ctl)
	createClusterIssuer(t, controllerNS, "writes", bed.Pebble.DirectoryURL)
	createCertificates(t, certNS, "writes", "writes", n)
	testenv.Eventually(t, "all certificates Ready", func() (bool, string) {
		got := readyCount(t, certNS, "writes")
		return got == n, "ready: " + itoa(got)
	})
	checkIssued(t, certNS, "writes", n)

	// Quiet for a moment: nothing more may be written once all are Ready.
	time.Sleep(2 * time.Second)
	writes, err := bed.ControlPlane.AuditWrites()
	if err != nil {
		t.Fatal(err)
	}
	perKind := map[string]int{}
	for _, w := range writes {
		if w.Namespace != certNS {
			continue
		}
		if w.Code >= 300 {
			t.Logf("failed write: %+v", w)
		}
		k := w.Verb + " " + w.Resource
		if w.Subresource != "" {
			k += "/" + w.Subresource
		}
		perKind[k]++
	}
	var lines []string
	for k, v := range perKind {
		lines = append(lines, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(lines)
	t.Logf("writes in the Certificates' namespace for %d certificates: %s", n, strings.Join(lines, " "))
	// The test's own creates, then the controller's: the finalizer, the
	// order, the issuance, the Secret, the event.
	want := map[string]int{
		"create certificates":       n,
		"patch certificates":        n,
		"patch certificates/status": 2 * n,
		"patch secrets":             n,
		"create events":             n,
	}
	for k, v := range want {
		if perKind[k] != v {
			t.Errorf("%s: %d writes, want %d", k, perKind[k], v)
		}
	}
	for k, v := range perKind {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected writes: %s=%d", k, v)
		}
	}
	for i := range n {
		cert := &edgecertv1alpha1.Certificate{}
		cert.Namespace, cert.Name = certNS, fmt.Sprintf("writes-%d", i)
		if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKeyFromObject(cert), cert); err != nil {
			t.Fatal(err)
		}
		notes, err := bed.ControlPlane.EventNotes(context.Background(), cert, edgecertv1alpha1.ReasonIssued)
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 1 {
			t.Errorf("%s: %d Issued events, want 1: %q", cert.Name, len(notes), notes)
		}
	}
}
