package rfc2136_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/dnstest"
	"github.com/edgecert/edgecert/internal/dns/registry"
	"github.com/edgecert/edgecert/internal/dns/rfc2136"
)

// bindLookup asks BIND itself.
func bindLookup(t *testing.T) dnstest.Lookup {
	return func(fqdn, typ string) (uint32, []string) {
		t.Helper()
		ttl, values, err := bind.Records(fqdn, typ)
		if err != nil {
			t.Fatalf("query %s %s: %v", fqdn, typ, err)
		}
		return ttl, values
	}
}

func TestRecordConformance(t *testing.T) {
	dnstest.RunRecordConformance(t, newProvider(t, nil), "records.test.", bindLookup(t))
}

func TestRecordConformanceUDP(t *testing.T) {
	dnstest.RunRecordConformance(t, newProvider(t, func(c *rfc2136.Config) { c.Net = "udp" }), "records.test.", bindLookup(t))
}

// TestApplyChangesBatches counts, in BIND's log, the UPDATE messages 600
// RRs take: a few, not 600.
func TestApplyChangesBatches(t *testing.T) {
	p := newProvider(t, nil)
	before, err := bind.UpdateRequests()
	if err != nil {
		t.Fatal(err)
	}
	var cs []registry.Change
	for i := range 300 {
		a := registry.Record{Name: "batch" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + ".records.test.", Type: "A", TTL: 300, Values: []string{"192.0.2.1"}}
		txt := registry.Record{Name: "a-" + a.Name, Type: "TXT", TTL: 300, Values: []string{"heritage=external-dns,external-dns/owner=batch,external-dns/resource=gateway/ns/name"}}
		cs = append(cs, registry.Change{Action: registry.Create, New: &a}, registry.Change{Action: registry.Create, New: &txt})
	}
	if err := p.ApplyChanges(t.Context(), "records.test.", cs); err != nil {
		t.Fatal(err)
	}
	after, err := bind.UpdateRequests()
	if err != nil {
		t.Fatal(err)
	}
	if n := after - before; n < 1 || n > 4 {
		t.Errorf("600 RRs took %d UPDATE messages, want 1 to 4", n)
	}
	t.Logf("600 RRs in %d UPDATE messages", after-before)
}

// TestUpdateKeepsValuesAddedSince: an Update or a Delete removes only the
// values it was planned from.
func TestUpdateKeepsValuesAddedSince(t *testing.T) {
	p := newProvider(t, nil)
	ctx := t.Context()
	old := registry.Record{Name: "since.records.test.", Type: "A", TTL: 300, Values: []string{"192.0.2.1"}}
	added := registry.Record{Name: old.Name, Type: "A", TTL: 300, Values: []string{"192.0.2.50"}}
	for _, c := range []registry.Change{{Action: registry.Create, New: &old}, {Action: registry.Create, New: &added}} {
		if err := p.ApplyChanges(ctx, "records.test.", []registry.Change{c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.ApplyChanges(ctx, "records.test.", []registry.Change{{Action: registry.Delete, Old: &old}}); err != nil {
		t.Fatal(err)
	}
	_, got, err := bind.Records(old.Name, "A")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"192.0.2.50"}, got); diff != "" {
		t.Errorf("A values after deleting the planned one (-want +got):\n%s", diff)
	}
}

func TestRecordsRefused(t *testing.T) {
	wrong := newProvider(t, func(c *rfc2136.Config) { c.TSIGSecret = "c2VjcmV0LXRoYXQtYmluZC1kb2VzLW5vdC1rbm93LTAx" })
	_, err := wrong.Records(t.Context(), "records.test.")
	if !errors.Is(err, edgedns.ErrNotAuthorized) {
		t.Fatalf("Records with a wrong secret: error = %v, want ErrNotAuthorized", err)
	}
	want := "transfer of zone records.test. from " + bind.Addr + " refused (dns: bad authentication): TSIG key " + bind.Key.Name + " may not transfer this zone, or its secret or algorithm is wrong, or the zone is not served there"
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	rec := registry.Record{Name: "x.records.test.", Type: "A", TTL: 300, Values: []string{"192.0.2.1"}}
	err = wrong.ApplyChanges(t.Context(), "records.test.", []registry.Change{{Action: registry.Create, New: &rec}})
	if !errors.Is(err, edgedns.ErrNotAuthorized) {
		t.Fatalf("ApplyChanges with a wrong secret: error = %v, want ErrNotAuthorized", err)
	}
	if _, got, _ := bind.Records(rec.Name, "A"); len(got) != 0 {
		t.Errorf("A at %s = %q after a refused update, want none", rec.Name, got)
	}
}
