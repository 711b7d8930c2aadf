package testenv

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPebbleGateClasses(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"POST", "/authZ/abc", gateAuthz},
		{"POST", "/order-plz", gateOrder},
		{"POST", "/my-order/abc", gateOrder},
		{"POST", "/finalize-order/abc", gateOrder},
		{"POST", "/list-orderz/1", gateOrder},
		{"POST", "/chalZ/abc", -1},
		{"POST", "/certZ/abc", -1},
		{"POST", "/sign-me-up", -1},
		{"GET", "/dir", -1},
		{"HEAD", "/nonce-plz", -1},
		{"GET", "/draft-ietf-acme-ari-03/renewalInfo/x", -1},
	} {
		r, _ := http.NewRequest(tc.method, "https://pebble.test"+tc.path, nil)
		if got := gateClass(r); got != tc.want {
			t.Errorf("%s %s: class %d, want %d", tc.method, tc.path, got, tc.want)
		}
	}
}

// Requests of the two classes never overlap, and neither class waits
// forever while the other keeps coming.
func TestPebbleGateKeepsTheClassesApartAndTakesTurns(t *testing.T) {
	g := &pebbleGate{}
	g.cond = sync.NewCond(&g.mu)
	var active [2]atomic.Int32
	var overlaps, done [2]atomic.Int32
	var wg sync.WaitGroup
	for w := range 20 {
		c := w % 2
		wg.Go(func() {
			for range 200 {
				g.enter(c)
				active[c].Add(1)
				if active[1-c].Load() > 0 {
					overlaps[c].Add(1)
				}
				time.Sleep(50 * time.Microsecond)
				active[c].Add(-1)
				g.exit(c)
				done[c].Add(1)
			}
		})
	}
	wg.Wait()
	if overlaps[0].Load()+overlaps[1].Load() != 0 {
		t.Errorf("classes overlapped %d + %d times", overlaps[0].Load(), overlaps[1].Load())
	}
	if done[0].Load() != 2000 || done[1].Load() != 2000 {
		t.Errorf("done %d and %d requests, want 2000 of each", done[0].Load(), done[1].Load())
	}
}
