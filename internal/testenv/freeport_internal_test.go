package testenv

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFreePortReturnsAPortOnce: 300 calls, 300 ports. Without the claims,
// the kernel offers ports again as soon as the probe closes them, and 300
// draws from its range all but surely repeat one.
func TestFreePortReturnsAPortOnce(t *testing.T) {
	seen := map[int]bool{}
	for range 300 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[port] {
			t.Fatalf("port %d returned twice", port)
		}
		seen[port] = true
	}
}

// TestClaimPortHonoursAnotherProcessClaim: a port another test process
// claimed a moment ago is not handed out; a claim older than portClaimTTL
// is taken over and renewed. Ports 1 and 2 (privileged: FreePort never
// returns them) stand for such ports.
func TestClaimPortHonoursAnotherProcessClaim(t *testing.T) {
	dir := filepath.Join(os.TempDir(), "edgecert-test-ports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fresh, stale := filepath.Join(dir, "1"), filepath.Join(dir, "2")
	for _, path := range []string{fresh, stale} {
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Remove(path) })
	}
	old := time.Now().Add(-portClaimTTL - time.Minute)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if claimPort(1) {
		t.Error("claimPort(1) = true with another process's claim a moment old, want false")
	}
	if !claimPort(2) {
		t.Errorf("claimPort(2) = false with a claim older than %s, want true", portClaimTTL)
	}
	if fi, err := os.Stat(stale); err != nil || time.Since(fi.ModTime()) > time.Minute {
		t.Errorf("the taken-over claim of port 2 is not renewed: %v %v", fi, err)
	}
}
