package process

import (
	"testing"

	"github.com/edgecert/edgecert/internal/testenv"
)

// Two replicas with leader election: only the leader issues; it is killed
// in the middle of issuing 20 certificates and the standby takes over. No
// order is made twice (counted at Pebble) and no Secret written twice for
// one issuance (counted in the API server's audit log).
func TestStandbyTakesOverFromAKilledLeader(t *testing.T) {
	const n = 20
	controllerNS, certNS := setUpNamespaces(t)
	// Two workers each, so that issuance lasts long enough to be cut.
	slow := []string{"--max-concurrent-reconciles", "2"}
	a := startController(t, controllerNS, slow...)
	waitLeader(t, a)
	b := startController(t, controllerNS, slow...)
	createClusterIssuer(t, controllerNS, "ha", bed.Pebble.DirectoryURL)
	if led, err := b.LogContains(testenv.LeaseAcquired); err != nil || led {
		t.Fatalf("the second replica leads while the first holds the lease (%v)", err)
	}
	before, err := bed.Pebble.OrdersCreated()
	if err != nil {
		t.Fatal(err)
	}

	createCertificates(t, certNS, "ha", "ha", n)
	testenv.Eventually(t, "some, not all, certificates Ready", func() (bool, string) {
		got := readyCount(t, certNS, "ha")
		return got >= 1, "ready: " + itoa(got)
	})
	if got := readyCount(t, certNS, "ha"); got == n {
		t.Fatal("every certificate was Ready before the leader could be killed mid-issuance")
	}
	a.Kill()
	waitLeader(t, b)
	testenv.Eventually(t, "all certificates Ready", func() (bool, string) {
		got := readyCount(t, certNS, "ha")
		return got == n, "ready: " + itoa(got)
	})
	if got := ordersSince(t, before); got > n {
		t.Errorf("Pebble received %d orders for %d certificates", got, n)
	}
	checkIssued(t, certNS, "ha", n)
}
