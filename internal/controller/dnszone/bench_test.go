package dnszone_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/testenv"
	"github.com/edgecert/edgecert/internal/testenv/managertest"
)

// BenchmarkDNSPublish1000 runs the controller as its own process against
// a fresh bed, creates 1,000 hosts on 100 annotated Istio Gateways (10
// each), and reports the time from the first creation until BIND answers
// every host, the UPDATE messages BIND received per host (its own log),
// and the UPDATE messages in an idle window after convergence. The zone
// resyncs every 2 s, so the 20 s window holds about ten full resyncs
// (each an AXFR and a plan): a shorter window than a minute, with the
// resync forced, as the issue allows.
func BenchmarkDNSPublish1000(b *testing.B) {
	const (
		gateways = 100
		perGW    = 10
		resync   = 2 * time.Second
		idle     = 20 * time.Second
	)
	testenv.UseOwnBed(b, testenv.Options{BIND: testenv.BINDOptions{Zones: []string{"example.test"}, BareZones: []string{dnsZone}}}, &bed)
	for range b.N {
		ctx := context.Background()
		create(b, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: managertest.ControllerNamespace}})
		newZone(b, "bench", "owner-bench", edgecertv1alpha1.DNSPolicySync, func(z *edgecertv1alpha1.DNSZone) {
			z.Spec.ResyncPeriod = &metav1.Duration{Duration: resync}
		})
		svc := ingressService(b, "bench", "192.0.2.100")
		ctrl, err := testenv.StartController(bed.ControlPlane.Kubeconfig,
			"--namespace", managertest.ControllerNamespace, "--leader-election-namespace", managertest.ControllerNamespace)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("controller log: %s", ctrl.LogPath)
		defer ctrl.Stop()
		// The controller has seen the zone (empty) before the clock starts.
		zoneCondition(b, &edgecertv1alpha1.DNSZone{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, edgecertv1alpha1.ReadyCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonRecordsInSync)

		updates0, err := bed.BIND.UpdateRequests()
		if err != nil {
			b.Fatal(err)
		}
		pending := map[string]bool{}
		start := time.Now()
		var wg sync.WaitGroup
		work := make(chan int)
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				for i := range work {
					gw := kube.NewUnstructured(kube.IstioGatewayGVK, svc.Namespace, fmt.Sprintf("gw%03d", i))
					gw.SetAnnotations(map[string]string{edgecertv1alpha1.PublishDNSAnnotation: "true"})
					var hosts []any
					for j := range perGW {
						hosts = append(hosts, fmt.Sprintf("*/h%02d.gw%03d.bench.%s", j, i, dnsZone))
					}
					gw.Object["spec"] = map[string]any{
						"selector": map[string]any{"istio": "bench"},
						"servers":  []any{map[string]any{"port": map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http"}, "hosts": hosts}},
					}
					if err := c().Create(ctx, gw); err != nil {
						select {
						case errs <- err:
						default:
						}
					}
				}
			})
		}
		for i := range gateways {
			for j := range perGW {
				pending[fmt.Sprintf("h%02d.gw%03d.bench.%s", j, i, dnsZone)] = true
			}
		}
		for i := range gateways {
			work <- i
		}
		close(work)
		wg.Wait()
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
		// Ask BIND for the hosts not seen yet, until none is left.
		testenv.EventuallyWithin(b, 3*time.Minute, "1,000 hosts answered by BIND", func() (bool, string) {
			for _, name := range slices.Sorted(func(yield func(string) bool) {
				for n := range pending {
					if !yield(n) {
						return
					}
				}
			}) {
				_, values, err := bed.BIND.Records(name, "A")
				if err != nil {
					return false, err.Error()
				}
				if !slices.Equal(values, []string{"192.0.2.100"}) {
					return false, fmt.Sprintf("%d hosts not answered yet, e.g. %s: %v", len(pending), name, values)
				}
				delete(pending, name)
			}
			return true, ""
		})
		publish := time.Since(start)
		updates1, err := bed.BIND.UpdateRequests()
		if err != nil {
			b.Fatal(err)
		}
		// Let any pass still running finish before the idle window: wait
		// for a resync past convergence, seen as an AXFR-only pass.
		time.Sleep(2 * resync)
		updates2, _ := bed.BIND.UpdateRequests()
		axfr0, _ := bed.BIND.Transfers()
		time.Sleep(idle)
		updates3, err := bed.BIND.UpdateRequests()
		if err != nil {
			b.Fatal(err)
		}
		axfr1, err := bed.BIND.Transfers()
		if err != nil {
			b.Fatal(err)
		}
		if axfr1-axfr0 < 5 {
			b.Fatalf("only %d zone transfers in the idle window: the resync did not run, so 0 updates would prove nothing", axfr1-axfr0)
		}
		total := gateways * perGW
		fmt.Printf("BENCH dns-publish-1000 %.2f s\n", publish.Seconds())
		fmt.Printf("BENCH dns-updates-per-host %.3f updates (%d UPDATE messages for %d hosts, %d more while settling)\n", float64(updates1-updates0)/float64(total), updates1-updates0, total, updates2-updates1)
		fmt.Printf("BENCH dns-idle-updates %d updates (over %s with a %s resync: %d zone transfers)\n", updates3-updates2, idle, resync, axfr1-axfr0)
		b.ReportMetric(publish.Seconds(), "publish-s")
		b.ReportMetric(float64(updates3-updates2), "idle-updates")
	}
}
