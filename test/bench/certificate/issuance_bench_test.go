// Package certificate benchmarks issuance through the edgecert controller
// against a bare ACME client (the floor), on the same Pebble and BIND in the
// same run. The controller runs as its own process so that its CPU time and
// peak memory are its own. `make bench` runs it; it prints BENCH lines.
package certificate

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
)

// concurrency of the floor client and of the controller: Pebble has hung
// with 50 concurrent clients on this machine.
const concurrency = 20

func BenchmarkIssuance(b *testing.B) {
	testenv.SetLogger()
	for b.Loop() {
		runIssuanceBenchmark(b)
	}
}

// phase is what one run of n certificates measured.
type phase struct {
	floor, controller time.Duration
	cpuSeconds        float64
	// floorCPU and bedCPU are the CPU seconds each process used during the
	// floor's and the controller's issuance: where the time went.
	floorCPU, bedCPU map[string]float64
	// requests is the API server's requests per certificate, by verb and
	// resource (the benchmark's own creates and watch included).
	requests      string
	writesPerCert float64
	peakRSSMiB    float64
	// single are 5 one-certificate runs (controller, then floor), made only
	// when asked.
	single, floorSingle []time.Duration
}

// runPhase issues n certificates with the bare client, then n through a
// fresh controller process, each on a fresh test bed of its own: Pebble
// scans every authorization it holds, under locks, for each new order, so
// a bed that has seen about 1,500 orders slows down and hangs whatever
// client asks (seen with the floor's and the controller's 1,000 on one
// bed).
func runPhase(b *testing.B, n int, singles bool) phase {
	var p phase
	p.floor, p.floorSingle, p.floorCPU = floorPhase(b, n, singles)
	b.Logf("floor: %d certificates in %s", n, p.floor)

	ctx := context.Background()
	bed, zone := startBed(b)
	defer bed.Stop()
	c := bed.ControlPlane.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "edgecert-system"}}); err != nil {
		b.Fatal(err)
	}
	ctrl, err := testenv.StartController(bed.ControlPlane.Kubeconfig,
		"--max-concurrent-reconciles", strconv.Itoa(concurrency), "--zap-log-level", "error")
	if err != nil {
		b.Fatal(err)
	}
	defer ctrl.Stop()
	setUpIssuer(b, bed)

	requests0 := apiRequests(b, bed)
	cpu0, err := ctrl.CPUSeconds()
	if err != nil {
		b.Fatal(err)
	}
	bed0 := bed.CPUSnapshot(b, nil)
	p.controller = controllerIssue(ctx, b, bed, zone, fmt.Sprintf("ctl%d", n), n)
	p.bedCPU = bed.CPUSince(b, nil, bed0)
	b.Logf("controller: %d certificates in %s (log %s)", n, p.controller, ctrl.LogPath)
	// The benchmark's own n creates are not the controller's writes.
	requests1 := apiRequests(b, bed)
	p.writesPerCert = float64(apiWrites(requests1)-apiWrites(requests0)-n) / float64(n)
	p.requests = testenv.RequestsPer(requests0, requests1, n)
	cpu1, err := ctrl.CPUSeconds()
	if err != nil {
		b.Fatal(err)
	}
	p.cpuSeconds = cpu1 - cpu0
	p.bedCPU["controller"] = p.cpuSeconds
	if p.peakRSSMiB, err = ctrl.PeakRSSMiB(); err != nil {
		b.Fatal(err)
	}
	if singles {
		for i := range 5 {
			p.single = append(p.single, controllerIssue(ctx, b, bed, zone, fmt.Sprintf("ctl1-%d", i), 1))
		}
	}
	return p
}

// startBed starts a test bed and returns it with its BIND zone.
func startBed(b *testing.B) (*testenv.Bed, string) {
	bed, err := testenv.Start(testenv.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return bed, strings.TrimSuffix(bed.BIND.Zones[0], ".")
}

// floorPhase issues n certificates with a bare ACME client (acmez, 20 ms
// polls) with the same DNS provider and concurrency as the controller,
// then, when asked, 5 single ones.
func floorPhase(b *testing.B, n int, singles bool) (time.Duration, []time.Duration, map[string]float64) {
	bed, zone := startBed(b)
	defer bed.Stop()
	cpu0 := bed.CPUSnapshot(b, nil)
	all := floorIssue(b, bed, zone, fmt.Sprintf("floor%d", n), n)
	cpu := bed.CPUSince(b, nil, cpu0)
	var single []time.Duration
	if singles {
		for i := range 5 {
			single = append(single, floorIssue(b, bed, zone, fmt.Sprintf("floor1-%d", i), 1))
		}
	}
	return all, single, cpu
}

func runIssuanceBenchmark(b *testing.B) {
	p200 := runPhase(b, 200, true)
	p1000 := runPhase(b, 1000, false)

	ratio := func(a, f time.Duration) string { return fmt.Sprintf("%.2f", a.Seconds()/f.Seconds()) }
	fmt.Printf("BENCH issue-dns01-200 %.2f s floor=%.2f ratio=%s\n", p200.controller.Seconds(), p200.floor.Seconds(), ratio(p200.controller, p200.floor))
	fmt.Printf("BENCH issue-dns01-200-cpu %.2f s\n", p200.cpuSeconds)
	fmt.Printf("BENCH issue-dns01-200-bed-cpu %s\n", testenv.CPULine(p200.bedCPU))
	fmt.Printf("BENCH issue-dns01-200-floor-cpu %s\n", testenv.CPULine(p200.floorCPU))
	fmt.Printf("BENCH issue-dns01-200-rss %.1f MiB\n", p200.peakRSSMiB)
	fmt.Printf("BENCH issue-writes-per-cert %.2f writes\n", p200.writesPerCert)
	fmt.Printf("BENCH issue-dns01-200-api-requests %s\n", p200.requests)
	fmt.Printf("BENCH issue-dns01-1000 %.2f s floor=%.2f ratio=%s\n", p1000.controller.Seconds(), p1000.floor.Seconds(), ratio(p1000.controller, p1000.floor))
	fmt.Printf("BENCH issue-dns01-1000-cpu %.2f s\n", p1000.cpuSeconds)
	fmt.Printf("BENCH issue-dns01-1000-bed-cpu %s\n", testenv.CPULine(p1000.bedCPU))
	fmt.Printf("BENCH issue-dns01-1000-floor-cpu %s\n", testenv.CPULine(p1000.floorCPU))
	fmt.Printf("BENCH issue-writes-per-cert-1000 %.2f writes\n", p1000.writesPerCert)
	fmt.Printf("BENCH issue-rss-1000 %.1f MiB\n", p1000.peakRSSMiB)
	ms, fs := median(p200.single), median(p200.floorSingle)
	fmt.Printf("BENCH issue-single-latency %.3f s floor=%.3f ratio=%s\n", ms.Seconds(), fs.Seconds(), ratio(ms, fs))
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// floorIssue issues n certificates (one host each) with a bare ACME client.
func floorIssue(b *testing.B, bed *testenv.Bed, zone, prefix string, n int) time.Duration {
	ctx := context.Background()
	client, err := bed.NewBareACME(ctx)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range min(concurrency, n) {
		wg.Go(func() {
			for i := range work {
				key, err := pki.GenerateKey(pki.KeySpec{})
				if err == nil {
					_, err = client.Obtain(ctx, key, []string{fmt.Sprintf("%s-%d.%s", prefix, i, zone)})
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("floor client: %v", firstErr)
	}
	return time.Since(start)
}

func setUpIssuer(b *testing.B, bed *testenv.Bed) {
	if err := bed.ControlPlane.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}); err != nil {
		b.Fatal(err)
	}
	bed.CreateIssuer(b, bed.ClusterIssuer("pebble"), "edgecert-system")
}

// controllerIssue creates n Certificates and waits until all are Ready
// (ControlPlane.WaitReady, watching them).
func controllerIssue(ctx context.Context, b *testing.B, bed *testenv.Bed, zone, prefix string, n int) time.Duration {
	c := bed.ControlPlane.Client
	start := time.Now()
	for i := range n {
		cert := &edgecertv1alpha1.Certificate{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i), Namespace: "bench", Labels: map[string]string{"run": prefix}},
			Spec: edgecertv1alpha1.CertificateSpec{
				DNSNames:   []string{fmt.Sprintf("%s-%d.%s", prefix, i, zone)},
				SecretName: fmt.Sprintf("%s-%d-tls", prefix, i),
				IssuerRef:  edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.ClusterIssuerKind, Name: "pebble"},
			},
		}
		if err := c.Create(ctx, cert); err != nil {
			b.Fatal(err)
		}
	}
	bed.ControlPlane.WaitReady(b, 10*time.Minute, &edgecertv1alpha1.CertificateList{}, n, func(o client.Object) bool {
		return meta.IsStatusConditionTrue(o.(*edgecertv1alpha1.Certificate).Status.Conditions, edgecertv1alpha1.ReadyCondition)
	}, client.InNamespace("bench"), client.MatchingLabels{"run": prefix})
	return time.Since(start)
}

// apiRequests reads the API server's own count of requests, by verb and
// resource ("PATCH certificates/status").
func apiRequests(b *testing.B, bed *testenv.Bed) map[string]float64 {
	out, err := bed.ControlPlane.APIRequests(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// isWrite reports whether a request key of apiRequests is a write.
func isWrite(key string) bool {
	verb, _, _ := strings.Cut(key, " ")
	switch verb {
	case "POST", "PUT", "PATCH", "DELETE", "APPLY":
		return true
	}
	return false
}

// apiWrites counts the writes among requests.
func apiWrites(requests map[string]float64) int {
	total := 0.0
	for k, v := range requests {
		if isWrite(k) {
			total += v
		}
	}
	return int(total)
}
