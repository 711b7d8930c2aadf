// Package managertest starts the test bed and edgecert's whole manager in
// the test process, wired exactly as `edgecert controller` wires it, so
// that a controller package's TestMain is a few lines. It lives apart from
// testenv because it imports every controller.
package managertest

import (
	"context"
	"fmt"
	"io"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/edgecert/edgecert/internal/manager"
	"github.com/edgecert/edgecert/internal/testenv"
)

// ControllerNamespace is edgecert's own namespace in the test bed
// (ClusterIssuers' Secrets live there).
const ControllerNamespace = "edgecert-system"

// Options choose the test bed and adjust the manager.
type Options struct {
	// Bed configures BIND, Pebble and the control plane. Pebble's HTTP-01
	// port is chosen here and served by the manager's listener.
	Bed testenv.Options
	// Configure, when set, adjusts the manager's options (metrics, probes
	// and the HTTP-01 address are already set for the test bed).
	Configure func(*manager.Options)
}

// Env is a running test bed with the manager.
type Env struct {
	*testenv.Bed
	cancel context.CancelFunc
	done   chan error
}

// Start starts the test bed, creates ControllerNamespace, and starts the
// manager. Stop it with Stop.
func Start(o Options) (*Env, error) {
	httpPort, err := testenv.FreePort()
	if err != nil {
		return nil, err
	}
	o.Bed.Pebble.HTTPPort = httpPort
	bed, err := testenv.Start(o.Bed)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Env{Bed: bed, cancel: cancel, done: make(chan error, 1)}
	if err := bed.ControlPlane.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ControllerNamespace}}); err != nil {
		e.stopBed()
		return nil, err
	}
	opts := manager.DefaultOptions()
	opts.MetricsAddr, opts.ProbeAddr = "0", "0"
	opts.HTTP01Addr = fmt.Sprintf("127.0.0.1:%d", httpPort)
	if o.Configure != nil {
		o.Configure(&opts)
	}
	mgr, err := manager.New(bed.ControlPlane.Config, opts)
	if err != nil {
		e.stopBed()
		return nil, err
	}
	go func() { e.done <- mgr.Start(ctx) }()
	return e, nil
}

// Stop ends the manager, then the test bed, and returns the manager's error.
func (e *Env) Stop() error {
	e.cancel()
	err := <-e.done
	e.Bed.Stop()
	return err
}

func (e *Env) stopBed() {
	e.cancel()
	e.Bed.Stop()
}

// SetLogger sends controller logs to stderr when EDGECERT_TEST_LOG is set
// and discards them otherwise, so test output stays readable.
func SetLogger() {
	if os.Getenv("EDGECERT_TEST_LOG") != "" {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
		return
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
}

// Main is a TestMain body: it starts an Env, runs the tests and exits with
// their code, or with 1 when the bed or the manager fails.
func Main(m interface{ Run() int }, o Options, env **Env) {
	SetLogger()
	e, err := Start(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start test bed and manager:", err)
		os.Exit(1)
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
