package testenv_test

import (
	"testing"
	"time"

	"github.com/edgecert/edgecert/internal/testenv"
)

// Two replicas: the log tells the leader, Kill ends it at once without a
// graceful shutdown, and the other replica takes the lease over.
func TestControllerKillAndLeaderHandover(t *testing.T) {
	ns, err := bed.ControlPlane.CreateNamespace(t.Context(), "leader")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--leader-elect", "--leader-election-namespace", ns, "--namespace", ns}
	a, err := testenv.StartController(bed.ControlPlane.Kubeconfig, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	leads := func(c *testenv.Controller) func() (bool, string) {
		return func() (bool, string) {
			ok, err := c.LogContains(testenv.LeaseAcquired)
			if err != nil {
				return false, err.Error()
			}
			return ok, "log " + c.LogPath
		}
	}
	testenv.Eventually(t, "first replica leads", leads(a))

	b, err := testenv.StartController(bed.ControlPlane.Kubeconfig, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	testenv.Eventually(t, "second replica tries for the lease", func() (bool, string) {
		ok, err := b.LogContains("Attempting to acquire leader lease")
		return ok && err == nil, "log " + b.LogPath
	})
	// Longer than the 2 s retry period: b has tried again and still waits.
	time.Sleep(3 * time.Second)
	if ok, err := b.LogContains(testenv.LeaseAcquired); ok || err != nil {
		t.Fatalf("second replica leads (%v) while the first holds the lease; log %s", err, b.LogPath)
	}

	if a.Exited() {
		t.Fatal("first replica exited before Kill")
	}
	a.Kill()
	if !a.Exited() {
		t.Fatal("Kill returned before the process exited")
	}
	testenv.Eventually(t, "second replica takes the lease over", leads(b))

	// Stop shuts down gracefully and says so; Kill left no such line.
	b.Stop()
	if !b.Exited() {
		t.Fatal("Stop returned before the process exited")
	}
	const graceful = "Stopping and waiting for"
	if ok, err := b.LogContains(graceful); !ok || err != nil {
		t.Fatalf("stopped replica's log lacks %q (%v): %s", graceful, err, b.LogPath)
	}
	if ok, err := a.LogContains(graceful); ok || err != nil {
		t.Fatalf("killed replica shut down gracefully (%v): %s", err, a.LogPath)
	}
}
