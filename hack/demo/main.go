// Command demo tells edgecert's story on the local test bed
// (kube-apiserver + etcd, Pebble, BIND 9): a platform team writes a
// GatewayPolicy, a tenant writes a GatewayService, edgecert issues the
// certificate from Pebble, writes the server into the Istio Gateway and
// publishes the host in BIND, and a real TLS client resolves it there and
// connects to what the gateway would serve. Then
// it leaves everything running, with the commands to explore, until
// Ctrl-C (or -exit-after). `make demo` runs it; the controller's logs go
// to a file, the story to the terminal.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/edgecert/edgecert/internal/manager"
	"github.com/edgecert/edgecert/internal/testenv"
)

func main() {
	var opts options
	flag.DurationVar(&opts.exitAfter, "exit-after", 0, "Stop this long after the story is told instead of waiting for Ctrl-C (0: wait).")
	flag.StringVar(&opts.logPath, "log", filepath.Join(os.TempDir(), "edgecert-demo.log"), "Where the controller's logs go.")
	flag.Parse()
	opts.out = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, opts)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type options struct {
	exitAfter time.Duration
	logPath   string
	out       io.Writer
}

// printf tells the story; a terminal that cannot be written to is no
// reason to stop what runs.
func (o options) printf(format string, args ...any) { _, _ = fmt.Fprintf(o.out, format, args...) }

func run(ctx context.Context, opts options) error {
	logFile, err := os.Create(opts.logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger := zap.New(zap.UseDevMode(true), zap.WriteTo(logFile))
	ctrl.SetLogger(logger)
	klog.SetLogger(logger)

	opts.printf("Starting BIND 9, Pebble and kube-apiserver + etcd on loopback ...\n")
	started := time.Now()
	http01Port, err := testenv.FreePort()
	if err != nil {
		return err
	}
	bed, err := testenv.Start(testenv.Options{Pebble: testenv.PebbleOptions{HTTPPort: http01Port}})
	if err != nil {
		return err
	}
	defer bed.Stop()
	dir, err := os.MkdirTemp("", "edgecert-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pebbleCA := filepath.Join(dir, "pebble-ca.pem")
	if err := os.WriteFile(pebbleCA, bed.Pebble.ServerCAPEM, 0o644); err != nil {
		return err
	}

	// edgecert's own namespace holds the leader Lease and ClusterIssuers'
	// Secrets: it exists before edgecert starts, as an install makes it.
	mopts := manager.DefaultOptions()
	if err := bed.ControlPlane.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: mopts.Namespace}}); err != nil {
		return err
	}
	metricsPort, err := testenv.FreePort()
	if err != nil {
		return err
	}
	probePort, err := testenv.FreePort()
	if err != nil {
		return err
	}
	mopts.MetricsAddr = fmt.Sprintf("127.0.0.1:%d", metricsPort)
	mopts.ProbeAddr = fmt.Sprintf("127.0.0.1:%d", probePort)
	mopts.HTTP01Addr = fmt.Sprintf("127.0.0.1:%d", http01Port)
	// The HTTP-01 self-check looks where Pebble does: through BIND, at
	// the port Pebble connects to.
	mopts.HTTP01SelfCheckPort, mopts.HTTP01SelfCheckNameservers = http01Port, []string{bed.BIND.Addr}
	mgr, err := manager.New(bed.ControlPlane.Config, mopts)
	if err != nil {
		return err
	}
	mgrCtx, stopManager := context.WithCancel(ctx)
	defer stopManager()
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(mgrCtx) }()
	opts.printf("Test bed and edgecert up in %s (edgecert's logs: %s)\n\n", since(started), opts.logPath)

	st := &story{out: opts.out, bed: bed, zone: trimDot(bed.BIND.Zones[0])}
	if err := st.tell(ctx); err != nil {
		return err
	}

	zone := bed.BIND.Zones[0]
	opts.printf(`
Everything keeps running; explore:

  Kubernetes API   export KUBECONFIG=%[1]s
                   kubectl get gwpol,gatewayservices,ecert -A   (kube-apiserver %[2]s)
                   kubectl get gateways.networking.istio.io -n %[12]s %[13]s -o yaml
  edgecert         metrics http://%[3]s/metrics   probes http://%[4]s/readyz
  Pebble (ACME)    directory %[5]s
                   curl --cacert %[6]s %[5]s
  BIND 9 (DNS)     zone %[7]s on %[8]s, TSIG key %[9]s (%[10]s)
                   dig @127.0.0.1 -p %[11]s www.shop.%[7]s
`, bed.ControlPlane.Kubeconfig, kubeVersion(), mopts.MetricsAddr, mopts.ProbeAddr,
		bed.Pebble.DirectoryURL, pebbleCA, zone, bed.BIND.Addr, bed.BIND.Key.Name, bed.BIND.Key.Algorithm,
		bed.BIND.Addr[len("127.0.0.1:"):], gatewayNamespace, gatewayName)

	wait := ctx.Done()
	if opts.exitAfter > 0 {
		opts.printf("\nStopping in %s (-exit-after).\n", opts.exitAfter)
		timer := time.NewTimer(opts.exitAfter)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-wait:
		}
	} else {
		opts.printf("\nPress Ctrl-C to stop everything.\n")
		select {
		case <-wait:
		case err := <-mgrDone:
			return fmt.Errorf("manager stopped: %w", err)
		}
	}
	stopManager()
	if err := <-mgrDone; err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	opts.printf("Stopped.\n")
	return nil
}

func kubeVersion() string {
	v, err := testenv.ToolVersion("KUBERNETES_VERSION")
	if err != nil {
		return "?"
	}
	return v
}
