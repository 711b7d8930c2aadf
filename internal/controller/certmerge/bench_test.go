package certmerge_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/manager"
	"github.com/edgecert/edgecert/internal/testenv"
)

const (
	benchSourceNamespaces = 10
	benchSourcesPerNS     = 50
	benchUnrelated        = 20000
	benchChanges          = 10
	benchBundleNS         = "bench-gateway"
	benchBundle           = "istio-ingressgateway-certs"
)

// BenchmarkCertMerge measures, with 500 source Secrets in 10 namespaces:
// the time from one source change to the bundle holding it and the API
// writes edgecert makes per change (controller in process, its HTTP
// requests counted); then the peak RSS of the edgecert binary, run as its
// own process, without and with 20,000 unrelated Secrets in the cluster.
func BenchmarkCertMerge(b *testing.B) {
	for range b.N {
		runCertMergeBench(b)
	}
}

func runCertMergeBench(b *testing.B) {
	ctx := context.Background()
	plane, err := testenv.StartControlPlane()
	if err != nil {
		b.Fatal(err)
	}
	defer plane.Stop()
	c := plane.Client

	start := time.Now()
	sources := createBenchSources(b, ctx, c)
	ccm := &edgecertv1alpha1.ClusterCertMerge{
		ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Spec: edgecertv1alpha1.ClusterCertMergeSpec{SecretName: benchBundle, SecretNamespace: benchBundleNS, BundleSources: edgecertv1alpha1.BundleSources{
			KeyTemplate: "{namespace}.{name}",
			Selectors: []edgecertv1alpha1.SecretSelector{{
				Namespaces:    benchNamespaces(),
				LabelSelector: metav1.LabelSelector{MatchLabels: map[string]string{"certmerge": "true"}},
			}},
		}},
	}
	if err := c.Create(ctx, ccm); err != nil {
		b.Fatal(err)
	}
	b.Logf("created %d sources in %s", len(sources), time.Since(start).Round(time.Millisecond))

	// 1. Latency and writes, controller in process with counted requests.
	latencies, writes := measureUpdates(b, ctx, plane, sources)
	slices.Sort(latencies)
	median := latencies[len(latencies)/2]
	b.Logf("update latencies: min %s, median %s, max %s", latencies[0], median, latencies[len(latencies)-1])
	perChange := func(kind string) float64 { return float64(writes[kind]) / benchChanges }
	total := 0
	for _, n := range writes {
		total += n
	}
	b.Logf("API writes over %d changes: %v", benchChanges, writes)

	// 2. Peak RSS of the real binary, without then with unrelated Secrets.
	without := measureRSS(b, ctx, plane, sources)
	start = time.Now()
	createUnrelated(b, ctx, c)
	b.Logf("created %d unrelated Secrets in %s", benchUnrelated, time.Since(start).Round(time.Millisecond))
	with := measureRSS(b, ctx, plane, sources)

	fmt.Printf("BENCH certmerge-update-latency %.3f s\n", median.Seconds())
	fmt.Printf("BENCH certmerge-writes-per-change %.1f writes\n", perChange("bundle"))
	fmt.Printf("BENCH certmerge-api-writes-per-change %.1f writes bundle=%.1f status=%.1f events=%.1f other=%.1f\n",
		float64(total)/benchChanges, perChange("bundle"), perChange("status"), perChange("events"), perChange("other"))
	fmt.Printf("BENCH certmerge-rss-unrelated %.1f MiB floor=%.1f ratio=%.2f\n", with, without, with/without)
}

func benchNamespaces() []string {
	var nss []string
	for i := range benchSourceNamespaces {
		nss = append(nss, fmt.Sprintf("bench-src-%d", i))
	}
	return nss
}

func createNamespace(b *testing.B, ctx context.Context, c client.Client, name string) {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		b.Fatal(err)
	}
}

// parallel runs n jobs on 8 workers and fails on the first error.
func parallel(b *testing.B, n int, job func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || firstErr.Load() != nil {
					return
				}
				if err := job(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
}

func createBenchSources(b *testing.B, ctx context.Context, c client.Client) []*corev1.Secret {
	createNamespace(b, ctx, c, benchBundleNS)
	for _, ns := range benchNamespaces() {
		createNamespace(b, ctx, c, ns)
	}
	sources := make([]*corev1.Secret, benchSourceNamespaces*benchSourcesPerNS)
	parallel(b, len(sources), func(i int) error {
		ns := fmt.Sprintf("bench-src-%d", i/benchSourcesPerNS)
		name := fmt.Sprintf("cert-svc-%d", i%benchSourcesPerNS)
		cert, key := keyPair(time.Now().Add(60*24*time.Hour), name+".example.com")
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"certmerge": "true"}},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key},
		}
		sources[i] = s
		return c.Create(ctx, s)
	})
	return sources
}

// createUnrelated makes Secrets edgecert has no business with: Opaque ones
// of about 2 KiB (some labelled like the sources, in the source
// namespaces) and TLS ones in namespaces no merge reads.
func createUnrelated(b *testing.B, ctx context.Context, c client.Client) {
	const namespaces = 20
	for i := range namespaces {
		createNamespace(b, ctx, c, fmt.Sprintf("unrelated-%d", i))
	}
	cert, key := keyPair(time.Now().Add(60*24*time.Hour), "unrelated.example.com")
	filler := []byte(strings.Repeat("x", 2048))
	parallel(b, benchUnrelated, func(i int) error {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%d", i)}}
		switch {
		case i%10 == 0: // 2,000 Opaque in the source namespaces, with the sources' label
			s.Namespace = fmt.Sprintf("bench-src-%d", (i/10)%benchSourceNamespaces)
			s.Labels = map[string]string{"certmerge": "true"}
			s.Data = map[string][]byte{"config": filler}
		case i%5 == 1: // 4,000 TLS Secrets elsewhere
			s.Namespace = fmt.Sprintf("unrelated-%d", i%namespaces)
			s.Type = corev1.SecretTypeTLS
			s.Data = map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key}
		default: // 14,000 Opaque elsewhere
			s.Namespace = fmt.Sprintf("unrelated-%d", i%namespaces)
			s.Data = map[string][]byte{"config": filler}
		}
		return c.Create(ctx, s)
	})
}

// writeCounter counts the mutating requests a rest.Config sends, by what
// they write.
type writeCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet {
			kind := "other"
			switch p := req.URL.Path; {
			case strings.HasSuffix(p, "/status"):
				kind = "status"
			case strings.Contains(p, "/events"):
				kind = "events"
			case strings.Contains(p, "/secrets"):
				kind = "bundle"
			}
			w.mu.Lock()
			w.counts[kind]++
			w.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

func (w *writeCounter) snapshot() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for k, v := range w.counts {
		out[k] = v
	}
	return out
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func measureUpdates(b *testing.B, ctx context.Context, plane *testenv.ControlPlane, sources []*corev1.Secret) ([]time.Duration, map[string]int) {
	counter := &writeCounter{counts: map[string]int{}}
	cfg := rest.CopyConfig(plane.Config)
	cfg.Wrap(counter.wrap)
	cfg.QPS, cfg.Burst = 200, 400
	opts := manager.DefaultOptions()
	opts.MetricsAddr, opts.ProbeAddr, opts.HTTP01Addr = "0", "0", "0"
	mgr, err := manager.New(cfg, opts)
	if err != nil {
		b.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	start := time.Now()
	waitBenchReady(b, ctx, plane.Client, len(sources))
	b.Logf("first merge of %d sources: %s", len(sources), time.Since(start).Round(time.Millisecond))
	quiesce(counter)

	before := counter.snapshot()
	var latencies []time.Duration
	for i := range benchChanges {
		latencies = append(latencies, changeSource(b, ctx, plane, sources[(i*37)%len(sources)]))
		quiesce(counter)
	}
	after := counter.snapshot()
	writes := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			writes[k] = d
		}
	}
	return latencies, writes
}

// quiesce waits until the controller has sent no write for a second, so
// that every write a change causes is counted with it.
func quiesce(c *writeCounter) {
	last := c.snapshot()
	for {
		time.Sleep(time.Second)
		now := c.snapshot()
		if fmt.Sprint(now) == fmt.Sprint(last) {
			return
		}
		last = now
	}
}

// waitBenchReady waits for the ClusterCertMerge to be Ready with n sources.
func waitBenchReady(b *testing.B, ctx context.Context, c client.Client, n int) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var ccm edgecertv1alpha1.ClusterCertMerge
		if err := c.Get(ctx, types.NamespacedName{Name: "bench"}, &ccm); err != nil {
			b.Fatal(err)
		}
		if meta.IsStatusConditionTrue(ccm.Status.Conditions, edgecertv1alpha1.ReadyCondition) && int(ccm.Status.SourceCount) == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("ClusterCertMerge not Ready with %d sources: %+v", n, ccm.Status.Conditions)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// changeSource renews one source and returns how long until the bundle,
// watched from before the change, holds the new chain.
func changeSource(b *testing.B, ctx context.Context, plane *testenv.ControlPlane, src *corev1.Secret) time.Duration {
	wc, err := client.NewWithWatch(plane.Config, client.Options{Scheme: plane.Client.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	var bundle corev1.Secret
	if err := wc.Get(ctx, types.NamespacedName{Namespace: benchBundleNS, Name: benchBundle}, &bundle); err != nil {
		b.Fatal(err)
	}
	w, err := wc.Watch(ctx, &corev1.SecretList{}, client.InNamespace(benchBundleNS), client.MatchingFields{"metadata.name": benchBundle},
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: bundle.ResourceVersion}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	cert, key := keyPair(time.Now().Add(90*24*time.Hour), src.Name+".example.com")
	entry := src.Namespace + "." + src.Name + ".crt"
	src.Data = map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key}
	t0 := time.Now()
	if err := plane.Client.Update(ctx, src); err != nil {
		b.Fatal(err)
	}
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				b.Fatal("bundle watch closed")
			}
			if s, isSecret := ev.Object.(*corev1.Secret); isSecret && ev.Type == watch.Modified && string(s.Data[entry]) == string(cert) {
				return time.Since(t0)
			}
		case <-timeout:
			b.Fatalf("bundle did not pick up the change to %s/%s", src.Namespace, src.Name)
		}
	}
}

// measureRSS runs the edgecert binary until it has merged the sources and
// handled a few changes, and returns its peak RSS (VmHWM) in MiB.
func measureRSS(b *testing.B, ctx context.Context, plane *testenv.ControlPlane, sources []*corev1.Secret) float64 {
	ctrl, err := testenv.StartController(plane.Kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	defer ctrl.Stop()
	// The first change proves this process merged; then a few more.
	for i := range 4 {
		changeSource(b, ctx, plane, sources[(i*53+7)%len(sources)])
	}
	waitBenchReady(b, ctx, plane.Client, len(sources))
	hwm, err := ctrl.PeakRSSMiB()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("edgecert pid %d: VmHWM %.1f MiB", ctrl.Pid(), hwm)
	return hwm
}
