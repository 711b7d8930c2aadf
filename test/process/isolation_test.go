package process

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
)

// One issuer whose Route 53 endpoint and then whose ACME server stop
// answering (a black hole, not a refusal) holds at most its share of the
// controller's workers: another issuer's certificates are issued while the
// silent calls are still pending. The controller runs 4 workers, 2 per
// issuer, and the ACME deadline is 5 minutes, so without the per-issuer
// bound every worker would wait on the silent CA and nothing else would be
// issued before the deadline.
func TestASilentIssuerLeavesWorkersForTheOthers(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	controllerNS, certNS := setUpNamespaces(t)
	startController(t, controllerNS, "--max-concurrent-reconciles", "4", "--acme-request-timeout", "5m")

	proxy, err := testenv.StartProxy(strings.TrimSuffix(strings.TrimPrefix(bed.Pebble.DirectoryURL, "https://"), "/dir"))
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	route53, err := testenv.StartBlackHole()
	if err != nil {
		t.Fatal(err)
	}
	defer route53.Close()
	if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws", Namespace: controllerNS}, Data: map[string][]byte{"id": []byte("AKIDTEST"), "key": []byte("secret")}}); err != nil {
		t.Fatal(err)
	}
	createClusterIssuer(t, controllerNS, "silent", "https://"+proxy.Addr+"/dir", edgecertv1alpha1.ACMESolver{DNS01: &edgecertv1alpha1.DNS01Solver{
		Nameservers: []string{bed.BIND.Addr},
		Route53: &edgecertv1alpha1.Route53Provider{
			Region: "us-east-1", HostedZoneID: "Z0SILENT", Endpoint: "http://" + route53.Addr,
			AccessKeyIDSecretRef:     &edgecertv1alpha1.SecretKeySelector{Name: "aws", Key: "id"},
			SecretAccessKeySecretRef: &edgecertv1alpha1.SecretKeySelector{Name: "aws", Key: "key"},
		},
	}})
	createClusterIssuer(t, controllerNS, "healthy", bed.Pebble.DirectoryURL)

	// Route 53 silent: the orders are made, their records never published.
	createCertificates(t, certNS, "silent", "silent-dns", 4)
	testenv.Eventually(t, "the silent Route 53 calls reach their deadline and show in status", func() (bool, string) {
		var list edgecertv1alpha1.CertificateList
		if err := c.List(ctx, &list, client.InNamespace(certNS), client.MatchingLabels{"run": "silent-dns"}); err != nil {
			return false, err.Error()
		}
		reported := 0
		var last string
		for _, it := range list.Items {
			cond := meta.FindStatusCondition(it.Status.Conditions, edgecertv1alpha1.ReconcilingCondition)
			if cond != nil && cond.Reason == edgecertv1alpha1.ReasonTransientError && strings.HasSuffix(cond.Message, ": timeout") {
				reported++
			}
			last = fmt.Sprint(cond)
		}
		return reported == len(list.Items), last
	})
	if route53.Accepted() == 0 {
		t.Fatal("no call reached the silent Route 53 endpoint")
	}

	// Then the CA falls silent too, with more work for it queued.
	proxy.SetBlackHole(true)
	createCertificates(t, certNS, "silent", "silent-acme", 4)
	createCertificates(t, certNS, "healthy", "healthy", 10)
	testenv.Eventually(t, "the healthy issuer's certificates Ready", func() (bool, string) {
		got := readyCount(t, certNS, "healthy")
		return got == 10, "ready: " + itoa(got)
	})
	// The silent issuer's share of the workers is still waiting on the
	// black holes: nothing had to time out for the others to be served.
	if held := proxy.Stalled() + route53.Open(); held < 1 || held > 2 {
		t.Errorf("%d calls held by the silent CA and Route 53 when the others were done (%d and %d), want 1 or 2: its share of the workers, still waiting", held, proxy.Stalled(), route53.Open())
	}
	for _, run := range []string{"silent-dns", "silent-acme"} {
		if got := readyCount(t, certNS, run); got != 0 {
			t.Errorf("%d %s certificates Ready through a silent CA", got, run)
		}
	}
	checkIssued(t, certNS, "healthy", 10)
}
