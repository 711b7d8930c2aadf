package process

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
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

// Two replicas answer HTTP-01 alike, the standby included: the answers
// come from Certificate status, not from the leader's memory. The leader's
// self-check looks at a closed port, so it never tells Pebble to validate
// and the challenge stays pending while both listeners are asked for it;
// only the standby listens where Pebble connects. The leader is then
// killed: the standby takes over the order (no second one at Pebble), and
// Pebble validates through the standby's listener.
func TestBothReplicasAnswerHTTP01AndTheStandbyFinishesTheOrder(t *testing.T) {
	controllerNS, certNS := setUpNamespaces(t)
	leaderPort, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	closedPort, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	a := startController(t, controllerNS,
		"--http01-bind-address", fmt.Sprintf("127.0.0.1:%d", leaderPort),
		"--http01-self-check-port", itoa(closedPort), "--http01-self-check-nameservers", bed.BIND.Addr)
	waitLeader(t, a)
	b := startController(t, controllerNS,
		"--http01-bind-address", fmt.Sprintf("127.0.0.1:%d", pebbleHTTPPort),
		"--http01-self-check-port", itoa(pebbleHTTPPort), "--http01-self-check-nameservers", bed.BIND.Addr)
	createClusterIssuer(t, controllerNS, "ha-http01", bed.Pebble.DirectoryURL, edgecertv1alpha1.ACMESolver{HTTP01: &edgecertv1alpha1.HTTP01Solver{}})
	before, err := bed.Pebble.OrdersCreated()
	if err != nil {
		t.Fatal(err)
	}

	createCertificates(t, certNS, "ha-http01", "web", 1)
	var ch edgecertv1alpha1.ChallengeStatus
	testenv.Eventually(t, "an HTTP-01 challenge with its answer in status", func() (bool, string) {
		var cert edgecertv1alpha1.Certificate
		if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: certNS, Name: "web-0"}, &cert); err != nil {
			return false, err.Error()
		}
		if o := cert.Status.Order; o != nil && len(o.Challenges) == 1 && o.Challenges[0].KeyAuthorization != "" {
			ch = o.Challenges[0]
			return true, ""
		}
		return false, fmt.Sprintf("order %+v", cert.Status.Order)
	})
	if ch.Type != "http-01" || ch.DNSName != host("web", 0) {
		t.Fatalf("challenge %s for %s, want http-01 for %s", ch.Type, ch.DNSName, host("web", 0))
	}
	for who, port := range map[string]int{"leader": leaderPort, "standby": pebbleHTTPPort} {
		// The listener's cache may lag the status just read.
		testenv.Eventually(t, "the "+who+" answers the challenge", func() (bool, string) {
			code, body := getChallenge(t, port, ch.DNSName, ch.Token)
			return code == http.StatusOK && body == ch.KeyAuthorization, fmt.Sprintf("%d %q", code, body)
		})
		// For another host, the same token is not answered.
		if code, body := getChallenge(t, port, "other."+ch.DNSName, ch.Token); code != http.StatusNotFound {
			t.Errorf("the %s answers the token for another host: %d %q", who, code, body)
		}
	}
	if led, err := b.LogContains(testenv.LeaseAcquired); err != nil || led {
		t.Fatalf("the standby leads while the first replica holds the lease (%v)", err)
	}
	if got := readyCount(t, certNS, "web"); got != 0 {
		t.Fatal("the Certificate is Ready although the leader's self-check cannot reach an answer")
	}

	a.Kill()
	waitLeader(t, b)
	testenv.Eventually(t, "the Certificate Ready", func() (bool, string) {
		got := readyCount(t, certNS, "web")
		return got == 1, "ready: " + itoa(got)
	})
	if got := ordersSince(t, before); got != 1 {
		t.Errorf("Pebble received %d orders for one certificate", got)
	}
	checkIssued(t, certNS, "web", 1)
}

// getChallenge asks the HTTP-01 listener on 127.0.0.1:port for token as
// the CA does, with host in the Host header.
func getChallenge(t *testing.T, port int, host, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/.well-known/acme-challenge/%s", port, token), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(body)
}
