package gatewayservice_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/controller/gatewayservice"
	"github.com/edgecert/edgecert/internal/testenv"
)

// BenchmarkGatewayService500 runs the controller as its own process
// against the test API server and, once it serves GatewayServices,
// creates 500 GatewayServices (half HTTP, half HTTPS from a tenant
// Secret) across 50 namespaces on one Gateway, and reports the time until
// every one is Ready, the Gateway writes in the minutes after (target:
// none), and the controller's peak RSS.
func BenchmarkGatewayService500(b *testing.B) {
	const (
		namespaces = 50
		perNS      = 10
		// idle is longer than every resync period (the GatewayService
		// controller's Secret resync, DefaultSecretResyncPeriod).
		idle = gatewayservice.DefaultSecretResyncPeriod + 30*time.Second
	)
	// Its own bed, with no manager in the process.
	testenv.UseOwnBed(b, testenv.Options{}, &bed)
	for range b.N {
		ctx := context.Background()
		if err := c().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: controllerNamespace}}); err != nil {
			b.Fatal(err)
		}
		tenants := make([]string, namespaces)
		for i := range tenants {
			tenants[i] = newNamespace(b, fmt.Sprintf("bench%02d", i), nil)
			if err := c().Create(ctx, tlsSecret(b, tenants[i], "tls", false, "*."+tenants[i]+".example.test")); err != nil {
				b.Fatal(err)
			}
		}
		cl := newCluster(b, false, nil, tenants...)

		// The floor: the same creates with no controller running, then
		// deleted before it starts.
		floorCPU0 := bed.CPUSnapshot(b, nil)
		floorStart := time.Now()
		createAll(b, tenants, perNS)
		floor := time.Since(floorStart)
		floorCPU := bed.CPUSince(b, nil, floorCPU0)
		for _, ns := range tenants {
			if err := c().DeleteAllOf(ctx, &edgecertv1alpha1.GatewayService{}, client.InNamespace(ns)); err != nil {
				b.Fatal(err)
			}
		}
		testenv.EventuallyWithin(b, time.Minute, "the floor's GatewayServices gone", func() (bool, string) {
			var list edgecertv1alpha1.GatewayServiceList
			if err := c().List(ctx, &list); err != nil {
				return false, err.Error()
			}
			return len(list.Items) == 0, fmt.Sprintf("%d left", len(list.Items))
		})

		pprofArgs := testenv.ControllerPprofArgs(b)
		ctrl, err := testenv.StartController(bed.ControlPlane.Kubeconfig,
			append([]string{"--namespace", controllerNamespace, "--leader-election-namespace", controllerNamespace}, pprofArgs...)...)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("controller log: %s", ctrl.LogPath)
		stopped := false
		stop := func() {
			if !stopped {
				stopped = true
				ctrl.Stop()
			}
		}
		defer stop()

		// The controller serves a GatewayService before the clock starts,
		// as the other benchmarks wait for their controller to have seen
		// the zone or the issuer: the converge figures are for a burst
		// landing on a running controller. Its start (leader election,
		// cache sync) is reported apart. The warm-up GatewayService is
		// then deleted, and its server gone, so the burst meets the same
		// Gateway as the floor did.
		launched := time.Now()
		warmup := newGS(b, tenants[0], "warmup", httpSpec(80, "warmup."+tenants[0]+".example.test"))
		waitReady(b, warmup, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
		started := time.Since(launched)
		deleteAndWait(b, warmup)
		testenv.Eventually(b, "the warm-up's server removed", func() (bool, string) {
			servers, _ := cl.servers(b)
			return len(servers) == 1, fmt.Sprintf("%d servers", len(servers))
		})

		writes0 := gatewayWrites(b)
		requests0, err := bed.ControlPlane.APIRequests(ctx)
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := bed.CPUSnapshot(b, ctrl)
		profiled := bed.ProfileCPU(b, "gatewayservice-500-converge", 8*time.Second, pprofArgs)
		start := time.Now()
		createAll(b, tenants, perNS)
		created := time.Since(start)
		// Watched, not polled: a list of 500 every few milliseconds would
		// load the API server the controller shares.
		bed.ControlPlane.WaitReady(b, 6*time.Minute, &edgecertv1alpha1.GatewayServiceList{}, namespaces*perNS, func(o client.Object) bool {
			return meta.IsStatusConditionTrue(o.(*edgecertv1alpha1.GatewayService).Status.Conditions, edgecertv1alpha1.ReadyCondition)
		})
		converge := time.Since(start)
		profiled()
		convergeCPU := bed.CPUSince(b, ctrl, cpu0)
		convergeWrites := gatewayWrites(b) - writes0
		requests1, err := bed.ControlPlane.APIRequests(ctx)
		if err != nil {
			b.Fatal(err)
		}
		servers, _ := cl.servers(b)
		if len(servers) != namespaces*perNS+1 {
			b.Fatalf("the Gateway has %d servers, want %d", len(servers), namespaces*perNS+1)
		}

		// One more GatewayService, into a Gateway holding 500 servers.
		single := newGS(b, tenants[0], "single", httpSpec(80, "single."+tenants[0]+".example.test"))
		singleStart := time.Now()
		testenv.EventuallyWithin(b, time.Minute, "the 501st GatewayService Ready", func() (bool, string) {
			if err := c().Get(ctx, client.ObjectKeyFromObject(single), single); err != nil {
				return false, err.Error()
			}
			return meta.IsStatusConditionTrue(single.Status.Conditions, edgecertv1alpha1.ReadyCondition), "not Ready"
		})
		singleLatency := time.Since(singleStart)
		idleWrites0 := gatewayWrites(b)

		// Count writes to the Gateway for a minute of steady state.
		dyn, err := dynamic.NewForConfig(bed.ControlPlane.Config)
		if err != nil {
			b.Fatal(err)
		}
		gwRes := dyn.Resource(schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "gateways"}).Namespace(cl.gwNamespace)
		w, err := gwRes.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + cl.gwName, ResourceVersion: cl.gateway(b).GetResourceVersion()})
		if err != nil {
			b.Fatal(err)
		}
		writes := 0
		timer := time.NewTimer(idle)
	count:
		for {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					b.Fatal("watch closed")
				}
				if ev.Type == watch.Modified || ev.Type == watch.Deleted {
					writes++
				}
			case <-timer.C:
				break count
			}
		}
		w.Stop()

		rss, err := ctrl.PeakRSSMiB()
		if err != nil {
			b.Fatal(err)
		}
		stop()
		idleRequests := gatewayWrites(b) - idleWrites0
		fmt.Printf("BENCH gatewayservice-controller-start %.1f s (from /readyz answering to a first GatewayService Ready; not in converge)\n", started.Seconds())
		fmt.Printf("BENCH gatewayservice-500-converge %.1f s\n", converge.Seconds())
		fmt.Printf("BENCH gatewayservice-500-converge-cpu %s\n", testenv.CPULine(convergeCPU))
		fmt.Printf("BENCH gatewayservice-500-converge-creates %.1f s (the 500 creates returned, with the controller at work)\n", created.Seconds())
		fmt.Printf("BENCH gatewayservice-500-create-floor %.1f s cpu=%s\n", floor.Seconds(), testenv.CPULine(floorCPU))
		fmt.Printf("BENCH gatewayservice-500-gateway-writes %d writes\n", convergeWrites)
		fmt.Printf("BENCH gatewayservice-500-api-requests %s\n", testenv.RequestsPer(requests0, requests1, namespaces*perNS))
		fmt.Printf("BENCH gatewayservice-single-latency %.3f s\n", singleLatency.Seconds())
		fmt.Printf("BENCH gatewayservice-idle-writes %d writes watch-events=%d over %s\n", idleRequests, writes, idle)
		fmt.Printf("BENCH gatewayservice-rss %.0f MiB\n", rss)
		b.ReportMetric(converge.Seconds(), "converge-s")
		b.ReportMetric(float64(idleRequests), "idle-writes")
		b.ReportMetric(rss, "rss-MiB")
	}
}

// gatewayWrites is the API server's count of write requests to Istio
// Gateways so far (update, patch, create, delete; no-op updates included).
func gatewayWrites(b *testing.B) int {
	reqs, err := bed.ControlPlane.APIRequests(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	n := 0.0
	for _, verb := range []string{"PUT", "PATCH", "POST", "DELETE", "APPLY"} {
		n += reqs[verb+" gateways"]
	}
	return int(n)
}

// createAll creates perNS GatewayServices in each of tenants (half HTTP,
// half HTTPS from the tenant Secret "tls"), 8 at a time.
func createAll(b *testing.B, tenants []string, perNS int) {
	ctx := context.Background()
	var wg sync.WaitGroup
	work := make(chan *edgecertv1alpha1.GatewayService)
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for gs := range work {
				if err := c().Create(ctx, gs); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for _, ns := range tenants {
		for j := range perNS {
			name := fmt.Sprintf("app%d", j)
			spec := httpSpec(80, name+"."+ns+".example.test")
			if j%2 == 1 {
				spec = secretRefSpec("tls", name+"."+ns+".example.test")
			}
			work <- &edgecertv1alpha1.GatewayService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}
