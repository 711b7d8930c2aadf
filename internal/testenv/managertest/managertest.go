// Package managertest starts the test bed and edgecert's whole manager in
// the test process, wired exactly as `edgecert controller` wires it. It is
// the TestMain of every package whose tests run the manager:
//
//	var bed *testenv.Bed
//
//	func TestMain(m *testing.M) { managertest.Main(m, managertest.Options{}, &bed) }
//
// It lives apart from testenv because it imports every controller.
package managertest

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgecert/edgecert/internal/manager"
	"github.com/edgecert/edgecert/internal/testenv"
)

// ControllerNamespace is edgecert's own namespace in the test bed: the
// leader Lease, and ClusterIssuers' Secrets.
const ControllerNamespace = "edgecert-system"

// Options choose the test bed and adjust the manager.
type Options struct {
	// Bed configures BIND, Pebble and the control plane. Pebble's HTTP-01
	// port is chosen here and served by the manager's listener.
	Bed testenv.Options
	// Configure, when set, adjusts the manager's options (metrics, probes,
	// the HTTP-01 address and the HTTP-01 self-check's port and
	// nameservers are already set for the test bed).
	Configure func(*manager.Options)
}

// Main is the TestMain of a package whose tests run the manager: it
// starts the test bed with o.Bed, creates ControllerNamespace, starts the
// manager, stores the bed in *bed, runs the tests, stops the manager and
// the bed, and exits with the tests' code, or 1 when something did not
// start or the manager failed. When the binary runs benchmarks only
// (testenv.BenchmarksOnly), it starts nothing and *bed stays nil:
// benchmarks start their own beds and controller processes.
func Main(m *testing.M, o Options, bed **testenv.Bed) {
	testenv.MainWith(m, bed, func() (*testenv.Bed, func() error, error) { return start(o) })
}

// start starts the bed and the manager and returns how to stop both; the
// manager's error is what stop returns.
func start(o Options) (*testenv.Bed, func() error, error) {
	httpPort, err := testenv.FreePort()
	if err != nil {
		return nil, nil, err
	}
	o.Bed.Pebble.HTTPPort = httpPort
	bed, err := testenv.Start(o.Bed)
	if err != nil {
		return nil, nil, err
	}
	if err := bed.ControlPlane.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ControllerNamespace}}); err != nil {
		bed.Stop()
		return nil, nil, err
	}
	opts := manager.DefaultOptions()
	opts.MetricsAddr, opts.ProbeAddr = "0", "0"
	opts.HTTP01Addr = fmt.Sprintf("127.0.0.1:%d", httpPort)
	// The self-check looks where Pebble does: names through the bed's
	// BIND, the port Pebble connects to.
	opts.HTTP01SelfCheckPort, opts.HTTP01SelfCheckNameservers = httpPort, []string{bed.BIND.Addr}
	if o.Configure != nil {
		o.Configure(&opts)
	}
	mgr, err := manager.New(bed.ControlPlane.Config, opts)
	if err != nil {
		bed.Stop()
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return bed, func() error {
		cancel()
		err := <-done
		bed.Stop()
		if err != nil {
			return fmt.Errorf("manager: %w", err)
		}
		return nil
	}, nil
}
