package dnstest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/registry"
)

// Lookup returns the TTL and values of type typ at fqdn as the DNS service
// holds them (a query to the name server, or the state of an API test
// double), in any order: addresses in presentation form, CNAME targets
// fully qualified, TXT strings joined. No values: nothing there.
type Lookup func(fqdn, typ string) (uint32, []string)

// RunRecordConformance checks the Zone contract against z, under a fresh
// name in zone: one ApplyChanges creates A, AAAA, CNAME, TXT and wildcard
// records, which lookup and Records both show; an Update replaces an
// RRset's values and TTL; a Delete removes an RRset and nothing else; a
// batch of 300 records (more than one request's worth for a batching
// provider) lands whole; and an empty change list is no error.
func RunRecordConformance(t *testing.T, z edgedns.Zone, zone string, lookup Lookup) {
	t.Helper()
	zone = edgedns.Fqdn(zone)
	ctx := t.Context()
	base := "records-" + randomHex(t) + "." + zone
	name := func(label string) string { return label + "." + base }
	r := func(n, typ string, ttl uint32, values ...string) registry.Record {
		return registry.Record{Name: n, Type: typ, TTL: ttl, Values: values}
	}
	ownership := "heritage=external-dns,external-dns/owner=conformance,external-dns/resource=gateway/ns/gw"
	a := r(name("www"), "A", 300, "192.0.2.1", "192.0.2.2")
	aaaa := r(name("www"), "AAAA", 300, "2001:db8::1")
	cname := r(name("api"), "CNAME", 120, "lb.example.net.")
	txt := r(name("a-www"), "TXT", 300, ownership)
	wild := r(name("*.apps"), "A", 60, "192.0.2.3")
	wildTXT := r(name("a-*.apps"), "TXT", 60, ownership)

	expect := func(step string, rec registry.Record) {
		t.Helper()
		ttl, got := lookup(rec.Name, rec.Type)
		got = slices.Clone(got)
		slices.Sort(got)
		want := slices.Clone(rec.Values)
		slices.Sort(want)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%s: %s %s values (-want +got):\n%s", step, rec.Name, rec.Type, diff)
		}
		if len(want) > 0 && ttl != rec.TTL {
			t.Fatalf("%s: %s %s TTL = %d, want %d", step, rec.Name, rec.Type, ttl, rec.TTL)
		}
	}
	listed := func(step string, want ...registry.Record) {
		t.Helper()
		all, err := z.Records(ctx, zone)
		if err != nil {
			t.Fatalf("%s: Records: %v", step, err)
		}
		var got []registry.Record
		for _, rec := range all {
			if strings.HasSuffix(rec.Name, "."+base) {
				got = append(got, rec)
			}
		}
		sortRecords(got)
		want = slices.Clone(want)
		for i := range want {
			want[i] = registry.Normalize(want[i])
		}
		sortRecords(want)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%s: Records under %s (-want +got):\n%s", step, base, diff)
		}
	}
	apply := func(step string, cs ...registry.Change) {
		t.Helper()
		if err := z.ApplyChanges(ctx, zone, cs); err != nil {
			t.Fatalf("%s: ApplyChanges: %v", step, err)
		}
	}
	create := func(rec registry.Record) registry.Change { return registry.Change{Action: registry.Create, New: &rec} }

	apply("nothing to do")
	listed("before any change")

	apply("create", create(a), create(aaaa), create(cname), create(txt), create(wild), create(wildTXT))
	for _, rec := range []registry.Record{a, aaaa, cname, txt, wild, wildTXT} {
		expect("after creating", rec)
	}
	listed("after creating", a, aaaa, cname, txt, wild, wildTXT)

	a2 := r(a.Name, "A", 60, "192.0.2.2", "192.0.2.9")
	apply("update", registry.Change{Action: registry.Update, Old: &a, New: &a2})
	expect("after updating the A record", a2)
	expect("after updating the A record, AAAA untouched", aaaa)
	expect("after updating the A record, its TXT untouched", txt)

	apply("delete", registry.Change{Action: registry.Delete, Old: &cname}, registry.Change{Action: registry.Delete, Old: &wildTXT})
	expect("after deleting", r(cname.Name, "CNAME", 0))
	expect("after deleting", r(wildTXT.Name, "TXT", 0))
	expect("after deleting, the wildcard record stays", wild)
	listed("after deleting", a2, aaaa, txt, wild)

	var many []registry.Change
	var manyRecs []registry.Record
	for i := range 300 {
		rec := r(name(fmt.Sprintf("h%03d", i)), "A", 300, fmt.Sprintf("198.51.100.%d", i%250+1))
		own := r(name(fmt.Sprintf("a-h%03d", i)), "TXT", 300, ownership)
		many = append(many, create(rec), create(own))
		manyRecs = append(manyRecs, rec, own)
	}
	apply("create 300 records with their TXT", many...)
	expect("after the batch, first", manyRecs[0])
	expect("after the batch, last", manyRecs[len(manyRecs)-1])
	listed("after the batch", append(manyRecs, a2, aaaa, txt, wild)...)

	var clean []registry.Change
	for _, rec := range append(manyRecs, a2, aaaa, txt, wild) {
		clean = append(clean, registry.Change{Action: registry.Delete, Old: &rec})
	}
	apply("delete everything", clean...)
	listed("after deleting everything")
}

func sortRecords(rs []registry.Record) {
	slices.SortFunc(rs, func(a, b registry.Record) int { return strings.Compare(a.Key(), b.Key()) })
}
