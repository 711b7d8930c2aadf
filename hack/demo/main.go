// Command demo starts edgecert's local test bed (kube-apiserver + etcd,
// Pebble, BIND 9), runs the edgecert controller against it, and prints how to
// reach each part. `make demo` runs it; Ctrl-C stops everything.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/edgecert/edgecert/internal/manager"
	"github.com/edgecert/edgecert/internal/testenv"
)

func main() {
	exitAfter := flag.Duration("exit-after", 0, "Stop after this long instead of waiting for Ctrl-C (0: wait).")
	flag.Parse()
	if err := run(*exitAfter); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(exitAfter time.Duration) error {
	ctrl.SetLogger(zap.New(zap.UseDevMode(true)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if exitAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, exitAfter)
		defer cancel()
	}

	fmt.Println("Starting BIND 9, Pebble and kube-apiserver + etcd on loopback ...")
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
	opts := manager.DefaultOptions()
	if err := bed.ControlPlane.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opts.Namespace}}); err != nil {
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
	opts.MetricsAddr = fmt.Sprintf("127.0.0.1:%d", metricsPort)
	opts.ProbeAddr = fmt.Sprintf("127.0.0.1:%d", probePort)
	opts.HTTP01Addr = fmt.Sprintf("127.0.0.1:%d", http01Port)
	// The HTTP-01 self-check looks where Pebble does: through BIND, at
	// the port Pebble connects to.
	opts.HTTP01SelfCheckPort, opts.HTTP01SelfCheckNameservers = http01Port, []string{bed.BIND.Addr}
	mgr, err := manager.New(bed.ControlPlane.Config, opts)
	if err != nil {
		return err
	}
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(ctx) }()

	zone := bed.BIND.Zones[0]
	fmt.Printf(`
edgecert demo is running.

  Kubernetes API   export KUBECONFIG=%[1]s
                   kubectl get crds   (any kubectl works; the server is kube-apiserver %[2]s)
  edgecert         metrics http://%[3]s/metrics   probes http://%[4]s/readyz
  Pebble (ACME)    directory %[5]s
                   curl --cacert %[6]s %[5]s
  BIND 9 (DNS)     zone %[7]s on %[8]s, TSIG key %[9]s (%[10]s)
                   dig @127.0.0.1 -p %[11]s app.%[7]s
`, bed.ControlPlane.Kubeconfig, kubeVersion(), opts.MetricsAddr, opts.ProbeAddr,
		bed.Pebble.DirectoryURL, pebbleCA, zone, bed.BIND.Addr, bed.BIND.Key.Name, bed.BIND.Key.Algorithm,
		bed.BIND.Addr[len("127.0.0.1:"):])

	if err := issueDemoCertificate(ctx, bed); err != nil {
		return err
	}
	fmt.Println("\nPress Ctrl-C to stop everything.")

	select {
	case err := <-mgrDone:
		if err != nil {
			return fmt.Errorf("manager: %w", err)
		}
	case <-ctx.Done():
		if err := <-mgrDone; err != nil {
			return fmt.Errorf("manager: %w", err)
		}
	}
	fmt.Println("Stopped.")
	return nil
}

func kubeVersion() string {
	v, err := testenv.ToolVersion("KUBERNETES_VERSION")
	if err != nil {
		return "?"
	}
	return v
}
