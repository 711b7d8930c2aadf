package registry_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/edgecert/edgecert/internal/dns/registry"
)

const (
	ours   = "heritage=external-dns,external-dns/owner=edgecert,external-dns/resource=gateway/istio-system/public"
	theirs = "heritage=external-dns,external-dns/owner=cluster-b,external-dns/resource=ingress/shop/web"
	// oursOther is our owner id written for another resource, as an
	// external-dns with the same --txt-owner-id writes it.
	oursOther = "heritage=external-dns,external-dns/owner=edgecert,external-dns/resource=ingress/default/www"
)

func rec(name, typ string, ttl uint32, values ...string) registry.Record {
	return registry.Record{Name: name, Type: typ, TTL: ttl, Values: values}
}

func ep(name, typ string, targets ...string) registry.Endpoint {
	return registry.Endpoint{Name: name, Type: typ, TTL: 300, Targets: targets, Resource: "gateway/istio-system/public"}
}

func create(r registry.Record) registry.Change {
	return registry.Change{Action: registry.Create, New: &r}
}
func del(r registry.Record) registry.Change { return registry.Change{Action: registry.Delete, Old: &r} }
func update(o, n registry.Record) registry.Change {
	return registry.Change{Action: registry.Update, Old: &o, New: &n}
}

func TestPlan(t *testing.T) {
	soa := rec("example.com.", "SOA", 60, "ns.example.com. hostmaster.example.com. 1 3600 600 86400 60")
	tests := map[string]struct {
		current []registry.Record
		desired []registry.Endpoint
		policy  registry.Policy
		naming  registry.Naming
		want    registry.Result
	}{
		"new A record with its ownership record": {
			current: []registry.Record{soa},
			desired: []registry.Endpoint{ep("www.example.com", "A", "192.0.2.1")},
			want: registry.Result{
				Changes: []registry.Change{
					create(rec("a-www.example.com.", "TXT", 300, ours)),
					create(rec("www.example.com.", "A", 300, "192.0.2.1")),
				},
				Owned: []registry.Record{rec("www.example.com.", "A", 300, "192.0.2.1")},
			},
		},
		"steady state: nothing to do": {
			current: []registry.Record{soa, rec("www.example.com.", "A", 300, "192.0.2.1"), rec("a-www.example.com.", "TXT", 300, ours)},
			desired: []registry.Endpoint{ep("www.example.com.", "A", "192.0.2.1")},
			want:    registry.Result{Owned: []registry.Record{rec("www.example.com.", "A", 300, "192.0.2.1")}},
		},
		"external-dns's record with our owner id is adopted as it is": {
			current: []registry.Record{rec("www.example.com.", "A", 300, "192.0.2.1"), rec("a-www.example.com.", "TXT", 300, oursOther)},
			desired: []registry.Endpoint{ep("www.example.com.", "A", "192.0.2.1")},
			want:    registry.Result{Owned: []registry.Record{rec("www.example.com.", "A", 300, "192.0.2.1")}},
		},
		"old same-name format with our owner id: adopted, the new-format record added": {
			current: []registry.Record{rec("www.example.com.", "A", 300, "192.0.2.1"), rec("www.example.com.", "TXT", 300, oursOther)},
			desired: []registry.Endpoint{ep("www.example.com.", "A", "192.0.2.1")},
			want: registry.Result{
				Changes: []registry.Change{create(rec("a-www.example.com.", "TXT", 300, ours))},
				Owned:   []registry.Record{rec("www.example.com.", "A", 300, "192.0.2.1")},
			},
		},
		"old format does not claim AAAA, as in external-dns": {
			current: []registry.Record{rec("www.example.com.", "AAAA", 300, "2001:db8::1"), rec("www.example.com.", "TXT", 300, ours)},
			desired: []registry.Endpoint{ep("www.example.com.", "AAAA", "2001:db8::1")},
			want: registry.Result{Conflicts: []registry.Conflict{{Name: "www.example.com.", Type: "AAAA", Resource: "gateway/istio-system/public",
				Reason: "a AAAA record at www.example.com exists without an ownership record (made by hand?); it is left alone"}}},
		},
		"another owner's record is left alone": {
			current: []registry.Record{rec("shop.example.com.", "A", 60, "198.51.100.7"), rec("a-shop.example.com.", "TXT", 60, theirs)},
			desired: []registry.Endpoint{ep("shop.example.com.", "A", "192.0.2.1")},
			want: registry.Result{Conflicts: []registry.Conflict{{Name: "shop.example.com.", Type: "A", Resource: "gateway/istio-system/public", Owner: "cluster-b",
				Reason: `the A record at shop.example.com is owned by "cluster-b"`}}},
		},
		"a record made by hand is left alone": {
			current: []registry.Record{rec("mail.example.com.", "A", 3600, "203.0.113.5")},
			desired: []registry.Endpoint{ep("mail.example.com.", "A", "192.0.2.1")},
			want: registry.Result{Conflicts: []registry.Conflict{{Name: "mail.example.com.", Type: "A", Resource: "gateway/istio-system/public",
				Reason: "a A record at mail.example.com exists without an ownership record (made by hand?); it is left alone"}}},
		},
		"changed target: one update, the ownership record kept": {
			current: []registry.Record{rec("www.example.com.", "A", 300, "192.0.2.1"), rec("a-www.example.com.", "TXT", 300, ours)},
			desired: []registry.Endpoint{ep("www.example.com.", "A", "192.0.2.9", "192.0.2.2")},
			want: registry.Result{
				Changes: []registry.Change{update(rec("www.example.com.", "A", 300, "192.0.2.1"), rec("www.example.com.", "A", 300, "192.0.2.2", "192.0.2.9"))},
				Owned:   []registry.Record{rec("www.example.com.", "A", 300, "192.0.2.2", "192.0.2.9")},
			},
		},
		"changed target under create-only: nothing": {
			policy:  registry.CreateOnly,
			current: []registry.Record{rec("www.example.com.", "A", 300, "192.0.2.1"), rec("a-www.example.com.", "TXT", 300, ours)},
			desired: []registry.Endpoint{ep("www.example.com.", "A", "192.0.2.9")},
			want:    registry.Result{Owned: []registry.Record{rec("www.example.com.", "A", 300, "192.0.2.1")}},
		},
		"owned record no longer wanted, sync: deleted with its ownership record": {
			current: []registry.Record{rec("old.example.com.", "A", 300, "192.0.2.1"), rec("a-old.example.com.", "TXT", 300, ours), rec("hand.example.com.", "A", 300, "192.0.2.1")},
			want: registry.Result{Changes: []registry.Change{
				del(rec("a-old.example.com.", "TXT", 300, ours)),
				del(rec("old.example.com.", "A", 300, "192.0.2.1")),
			}},
		},
		"owned record no longer wanted, upsert-only: kept": {
			policy:  registry.UpsertOnly,
			current: []registry.Record{rec("old.example.com.", "A", 300, "192.0.2.1"), rec("a-old.example.com.", "TXT", 300, ours)},
			want:    registry.Result{Owned: []registry.Record{rec("old.example.com.", "A", 300, "192.0.2.1")}},
		},
		"another owner's record no longer wanted by anyone here: kept": {
			current: []registry.Record{rec("shop.example.com.", "A", 60, "198.51.100.7"), rec("a-shop.example.com.", "TXT", 60, theirs)},
		},
		"CNAME next to an A made by hand: refused": {
			current: []registry.Record{rec("api.example.com.", "A", 300, "203.0.113.5")},
			desired: []registry.Endpoint{ep("api.example.com.", "CNAME", "lb.example.net")},
			want: registry.Result{Conflicts: []registry.Conflict{{Name: "api.example.com.", Type: "CNAME", Resource: "gateway/istio-system/public",
				Reason: "cannot add a CNAME record at api.example.com next to its A record: a CNAME cannot share its name with other data (RFC 1034)"}}},
		},
		"A next to a CNAME made by hand: refused": {
			current: []registry.Record{rec("api.example.com.", "CNAME", 300, "elsewhere.example.net.")},
			desired: []registry.Endpoint{ep("api.example.com.", "A", "192.0.2.1")},
			want: registry.Result{Conflicts: []registry.Conflict{{Name: "api.example.com.", Type: "A", Resource: "gateway/istio-system/public",
				Reason: "cannot add a A record at api.example.com next to its CNAME record: a CNAME cannot share its name with other data (RFC 1034)"}}},
		},
		"owned A becomes a CNAME under sync: the A goes first": {
			current: []registry.Record{rec("api.example.com.", "A", 300, "192.0.2.1"), rec("a-api.example.com.", "TXT", 300, ours)},
			desired: []registry.Endpoint{ep("api.example.com.", "CNAME", "LB.example.net")},
			want: registry.Result{
				Changes: []registry.Change{
					del(rec("a-api.example.com.", "TXT", 300, ours)),
					del(rec("api.example.com.", "A", 300, "192.0.2.1")),
					create(rec("api.example.com.", "CNAME", 300, "lb.example.net.")),
					create(rec("cname-api.example.com.", "TXT", 300, ours)),
				},
				Owned: []registry.Record{rec("api.example.com.", "CNAME", 300, "lb.example.net.")},
			},
		},
		"owned A becomes a CNAME under upsert-only: refused, the A stays": {
			policy:  registry.UpsertOnly,
			current: []registry.Record{rec("api.example.com.", "A", 300, "192.0.2.1"), rec("a-api.example.com.", "TXT", 300, ours)},
			desired: []registry.Endpoint{ep("api.example.com.", "CNAME", "lb.example.net")},
			want: registry.Result{
				Conflicts: []registry.Conflict{{Name: "api.example.com.", Type: "CNAME", Resource: "gateway/istio-system/public",
					Reason: "cannot add a CNAME record at api.example.com next to its A record: a CNAME cannot share its name with other data (RFC 1034)"}},
				Owned: []registry.Record{rec("api.example.com.", "A", 300, "192.0.2.1")},
			},
		},
		"two sources, one name, other targets: the first resource wins": {
			desired: []registry.Endpoint{
				{Name: "x.example.com.", Type: "A", TTL: 300, Targets: []string{"192.0.2.2"}, Resource: "gatewayservice/b/x"},
				{Name: "x.example.com.", Type: "A", TTL: 300, Targets: []string{"192.0.2.1"}, Resource: "gatewayservice/a/x"},
			},
			want: registry.Result{
				Changes: []registry.Change{
					create(rec("a-x.example.com.", "TXT", 300, "heritage=external-dns,external-dns/owner=edgecert,external-dns/resource=gatewayservice/a/x")),
					create(rec("x.example.com.", "A", 300, "192.0.2.1")),
				},
				Conflicts: []registry.Conflict{{Name: "x.example.com.", Type: "A", Resource: "gatewayservice/b/x",
					Reason: "gatewayservice/a/x also asks for x.example.com A with other targets or TTL"}},
				Owned: []registry.Record{rec("x.example.com.", "A", 300, "192.0.2.1")},
			},
		},
		"wildcard": {
			desired: []registry.Endpoint{ep("*.apps.example.com.", "A", "192.0.2.1")},
			want: registry.Result{
				Changes: []registry.Change{
					create(rec("*.apps.example.com.", "A", 300, "192.0.2.1")),
					create(rec("a-*.apps.example.com.", "TXT", 300, ours)),
				},
				Owned: []registry.Record{rec("*.apps.example.com.", "A", 300, "192.0.2.1")},
			},
		},
		"wildcard with a replacement, owned": {
			naming:  registry.Naming{WildcardReplacement: "any"},
			current: []registry.Record{rec("*.apps.example.com.", "A", 300, "192.0.2.1"), rec("a-any.apps.example.com.", "TXT", 300, ours)},
			desired: []registry.Endpoint{ep("*.apps.example.com.", "A", "192.0.2.1")},
			want:    registry.Result{Owned: []registry.Record{rec("*.apps.example.com.", "A", 300, "192.0.2.1")}},
		},
		"prefix: ownership records under it": {
			naming:  registry.Naming{Prefix: "_owner."},
			desired: []registry.Endpoint{ep("www.example.com.", "AAAA", "2001:DB8::1")},
			want: registry.Result{
				Changes: []registry.Change{
					create(rec("_owner.aaaa-www.example.com.", "TXT", 300, ours)),
					create(rec("www.example.com.", "AAAA", 300, "2001:db8::1")),
				},
				Owned: []registry.Record{rec("www.example.com.", "AAAA", 300, "2001:db8::1")},
			},
		},
		"our ownership record without its record: the record is added": {
			current: []registry.Record{rec("a-www.example.com.", "TXT", 300, oursOther)},
			desired: []registry.Endpoint{ep("www.example.com.", "A", "192.0.2.1")},
			want: registry.Result{
				Changes: []registry.Change{create(rec("www.example.com.", "A", 300, "192.0.2.1"))},
				Owned:   []registry.Record{rec("www.example.com.", "A", 300, "192.0.2.1")},
			},
		},
		"another owner's ownership record without its record: refused": {
			current: []registry.Record{rec("a-www.example.com.", "TXT", 300, theirs)},
			desired: []registry.Endpoint{ep("www.example.com.", "A", "192.0.2.1")},
			want: registry.Result{Conflicts: []registry.Conflict{{Name: "www.example.com.", Type: "A", Resource: "gateway/istio-system/public", Owner: "cluster-b",
				Reason: `the ownership record a-www.example.com is not edgecert's (owner "cluster-b")`}}},
		},
		"TTL change is an update": {
			current: []registry.Record{rec("www.example.com.", "A", 60, "192.0.2.1"), rec("a-www.example.com.", "TXT", 60, ours)},
			desired: []registry.Endpoint{ep("www.example.com.", "A", "192.0.2.1")},
			want: registry.Result{
				Changes: []registry.Change{update(rec("www.example.com.", "A", 60, "192.0.2.1"), rec("www.example.com.", "A", 300, "192.0.2.1"))},
				Owned:   []registry.Record{rec("www.example.com.", "A", 300, "192.0.2.1")},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			policy := tc.policy
			if policy == "" {
				policy = registry.Sync
			}
			got := registry.Plan(tc.current, tc.desired, registry.Options{OwnerID: "edgecert", Naming: tc.naming, Policy: policy})
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
		})
	}
}
