// Package secretcache measures what a tenant's labelled Secrets cost the
// edgecert controller (issue 12, item 5): its peak resident memory with
// 2,000 foreign Secrets of 100 KiB carrying app.kubernetes.io/managed-by=
// edgecert, against the same controller on the same bed with none. The
// controller runs as its own process, so that its peak memory is its own.
// `make bench` runs it; it prints a BENCH line.
package secretcache

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
)

const (
	// foreignSecrets of foreignSize bytes each: 200 MB of data that the
	// label alone used to bring into edgecert's cache.
	foreignSecrets = 2000
	foreignSize    = 100 << 10
	// maxRatio is what the issue allows: the labelled Secrets may cost at
	// most a tenth more memory than none.
	maxRatio = 1.1
	// writers create the foreign Secrets in parallel.
	writers = 16
)

func BenchmarkSecretCacheLabelled(b *testing.B) {
	testenv.SetLogger()
	for b.Loop() {
		runSecretCacheBenchmark(b)
	}
}

func runSecretCacheBenchmark(b *testing.B) {
	ctx := context.Background()
	bed, err := testenv.Start(testenv.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer bed.Stop()
	c := bed.ControlPlane.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "edgecert-system"}}); err != nil {
		b.Fatal(err)
	}

	without := peakRSS(ctx, b, bed, "without")
	tenant, err := bed.ControlPlane.CreateNamespace(ctx, "tenant")
	if err != nil {
		b.Fatal(err)
	}
	createForeignSecrets(ctx, b, c, tenant)
	with := peakRSS(ctx, b, bed, "with")

	ratio := with / without
	fmt.Printf("secret-cache-rss: controller peak RSS %.1f MiB with no foreign Secrets, %.1f MiB with %d foreign %d KiB Secrets labelled app.kubernetes.io/managed-by=edgecert\n",
		without, with, foreignSecrets, foreignSize>>10)
	// The target is a ratio under maxRatio; like the other
	// benchmarks, this one prints the figure next to its floor and target
	// rather than failing.
	fmt.Printf("BENCH secret-cache-rss-labelled %.1f MiB floor=%.1f ratio=%.3f target=<%.1f\n", with, without, ratio, maxRatio)
}

// peakRSS starts a controller, waits until it has reconciled a sentinel
// Certificate (its controller starts only once every informer it watches
// with, the Secret one included, has listed everything), and returns its
// peak resident memory in MiB.
func peakRSS(ctx context.Context, b *testing.B, bed *testenv.Bed, run string) float64 {
	ctl, err := testenv.StartController(bed.ControlPlane.Kubeconfig, "--leader-elect=false", "--zap-log-level", "error")
	if err != nil {
		b.Fatal(err)
	}
	defer ctl.Stop()
	ns, err := bed.ControlPlane.CreateNamespace(ctx, "sentinel-"+run)
	if err != nil {
		b.Fatal(err)
	}
	sentinel := &edgecertv1alpha1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sentinel"},
		Spec: edgecertv1alpha1.CertificateSpec{DNSNames: []string{"sentinel.example.test"}, SecretName: "sentinel-tls",
			IssuerRef: edgecertv1alpha1.IssuerReference{Name: "none", Kind: edgecertv1alpha1.IssuerKind}},
	}
	c := bed.ControlPlane.Client
	if err := c.Create(ctx, sentinel); err != nil {
		b.Fatal(err)
	}
	testenv.Eventually(b, "the sentinel Certificate reconciled ("+run+")", func() (bool, string) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(sentinel), sentinel); err != nil {
			return false, err.Error()
		}
		return meta.FindStatusCondition(sentinel.Status.Conditions, edgecertv1alpha1.ReadyCondition) != nil, "no Ready condition"
	})
	rss, err := ctl.PeakRSSMiB()
	if err != nil {
		b.Fatal(err)
	}
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", ctl.Pid()))
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "VmRSS:") {
			b.Logf("%s: %s", run, strings.TrimSpace(line))
		}
	}
	b.Logf("%s: peak RSS %.1f MiB (log %s)", run, rss, ctl.LogPath)
	return rss
}

// createForeignSecrets makes the tenant's labelled Secrets.
func createForeignSecrets(ctx context.Context, b *testing.B, c client.Client, ns string) {
	data := bytes.Repeat([]byte{0x5a}, foreignSize)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < foreignSecrets; i += writers {
				s := &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("blob-%04d", i),
						Labels: map[string]string{"app.kubernetes.io/managed-by": "edgecert"}},
					Data: map[string][]byte{"blob": data},
				}
				if err := c.Create(ctx, s); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
