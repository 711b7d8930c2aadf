package process

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/edgecert/edgecert/internal/testenv"
)

// The controller is killed with SIGKILL at random moments while it issues
// 50 certificates (six times, each at a random moment of a leader's term),
// and restarted each time. Every certificate ends Ready
// with a chain to Pebble's root, Pebble receives no more orders than there
// are certificates (an order created and not yet recorded when the process
// died is taken over, not made again), every Secret is written once, and no
// challenge record is left in BIND.
func TestKilledAtRandomMomentsNoOrderIsMadeTwice(t *testing.T) {
	const n, kills, minKills = 50, 6, 5
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)

	controllerNS, certNS := setUpNamespaces(t)
	// Four workers, so that 50 certificates take longer than six leader
	// terms cut at random moments of their first 600 ms.
	slow := []string{"--max-concurrent-reconciles", "4"}
	ctl := startController(t, controllerNS, slow...)
	waitLeader(t, ctl)
	createClusterIssuer(t, controllerNS, "crash", bed.Pebble.DirectoryURL)
	before, err := bed.Pebble.OrdersCreated()
	if err != nil {
		t.Fatal(err)
	}

	createCertificates(t, certNS, "crash", "crash", n)
	killed := 0
	for killed < kills && readyCount(t, certNS, "crash") < n {
		// A random moment of this leader's term: from right after it took
		// the lease to 600 ms into its work.
		time.Sleep(time.Duration(rng.IntN(600)) * time.Millisecond)
		if readyCount(t, certNS, "crash") == n {
			break
		}
		ctl.Kill()
		killed++
		t.Logf("kill %d with %d of %d certificates Ready", killed, readyCount(t, certNS, "crash"), n)
		ctl = startController(t, controllerNS, slow...)
		waitLeader(t, ctl)
	}
	testenv.Eventually(t, "all certificates Ready", func() (bool, string) {
		got := readyCount(t, certNS, "crash")
		return got == n, "ready: " + itoa(got)
	})
	t.Logf("%d kills during issuance", killed)
	if killed < minKills {
		t.Fatalf("only %d kills happened before every certificate was Ready, want at least %d: issuance was faster than the kills", killed, minKills)
	}
	if got := ordersSince(t, before); got > n {
		t.Errorf("Pebble received %d orders for %d certificates", got, n)
	}
	checkIssued(t, certNS, "crash", n)
}
