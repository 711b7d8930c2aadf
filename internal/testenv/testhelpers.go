package testenv

import (
	"context"
	"strings"
	"testing"
)

// Namespace makes a fresh namespace named after prefix, or fails t.
func (b *Bed) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	ns, err := b.ControlPlane.CreateNamespace(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// Host is label in the bed's first zone.
func (b *Bed) Host(label string) string {
	return label + "." + strings.TrimSuffix(b.BIND.Zones[0], ".")
}

// Orders is how many orders Pebble has created so far, or fails t.
func (b *Bed) Orders(t testing.TB) int {
	t.Helper()
	n, err := b.Pebble.OrdersCreated()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// StartOneController runs `edgecert controller` against the bed as the
// only replica (leader election off), with edgecert's namespace ns (its
// ClusterIssuers' Secrets) and extra flags, stopped when t ends.
func (b *Bed) StartOneController(t testing.TB, ns string, extra ...string) *Controller {
	t.Helper()
	args := append([]string{"--namespace", ns, "--leader-elect=false", "--zap-log-level", "info"}, extra...)
	c, err := StartController(b.ControlPlane.Kubeconfig, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// UseOwnBed starts a bed with opts for one benchmark (managertest starts
// none for benchmarks) and points *bed, which the package's helpers read,
// at it until tb ends; then the shared one comes back. Called first, its
// cleanup runs after the helpers' own.
func UseOwnBed(tb testing.TB, opts Options, bed **Bed) {
	tb.Helper()
	own, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	shared := *bed
	tb.Cleanup(func() { own.Stop(); *bed = shared })
	*bed = own
}
