// Package dnstest holds the conformance suite every edgecert DNS Provider
// passes, so that solvers can rely on the same semantics whichever DNS
// service a platform uses.
package dnstest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	edgedns "github.com/edgecert/edgecert/internal/dns"
)

// RunConformance checks the Provider contract against p, writing TXT
// records under zone (fully qualified, e.g. "example.test."). lookup
// returns the TXT values currently stored at a name, read from the DNS
// service itself (a direct query to the name server, or the state of an API
// test double), in any order.
//
// It checks that Present is additive and idempotent, that CleanUp removes
// only its value and accepts an absent one, that the last CleanUp leaves no
// TXT RRset, and that two concurrent Presents at one name both survive
// (the example.com and *.example.com case). Each run uses a fresh name, so
// it can share a zone with other tests.
func RunConformance(t *testing.T, p edgedns.Provider, zone string, lookup func(fqdn string) []string) {
	t.Helper()
	zone = edgedns.Fqdn(zone)
	ctx := t.Context()
	fqdn := edgedns.ChallengeFQDN("conformance-" + randomHex(t) + "." + zone)
	v1, v2, v3, v4 := randomValue(t), randomValue(t), randomValue(t), randomValue(t)

	expect := func(step string, want ...string) {
		t.Helper()
		got := slices.Clone(lookup(fqdn))
		slices.Sort(got)
		want = slices.Clone(want)
		slices.Sort(want)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%s: TXT values at %s (-want +got):\n%s", step, fqdn, diff)
		}
	}
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}

	expect("before any change")

	must("present first value", p.Present(ctx, zone, fqdn, v1))
	expect("after presenting the first value", v1)

	must("present second value", p.Present(ctx, zone, fqdn, v2))
	expect("after presenting a second value at the same name", v1, v2)

	must("present first value again", p.Present(ctx, zone, fqdn, v1))
	expect("after presenting the first value again (idempotent)", v1, v2)

	must("clean up first value", p.CleanUp(ctx, zone, fqdn, v1))
	expect("after cleaning up the first value", v2)

	must("clean up absent value", p.CleanUp(ctx, zone, fqdn, v1))
	expect("after cleaning up a value already gone", v2)

	must("clean up last value", p.CleanUp(ctx, zone, fqdn, v2))
	expect("after cleaning up the last value")

	must("clean up at a name without TXT", p.CleanUp(ctx, zone, fqdn, v2))
	expect("after cleaning up at a name without TXT")

	// Two orders presenting at the same name at once, as the solvers of
	// example.com and *.example.com do.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, v := range []string{v3, v4} {
		wg.Go(func() { errs[i] = p.Present(context.WithoutCancel(ctx), zone, fqdn, v) })
	}
	wg.Wait()
	must("concurrent present", errs[0])
	must("concurrent present", errs[1])
	expect("after two concurrent presents", v3, v4)

	must("clean up concurrent value", p.CleanUp(ctx, zone, fqdn, v3))
	must("clean up concurrent value", p.CleanUp(ctx, zone, fqdn, v4))
	expect("after cleaning up both concurrent values")
}

// randomValue looks like an ACME key authorization digest: 43 characters of
// unpadded base64url.
func randomValue(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomHex(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
