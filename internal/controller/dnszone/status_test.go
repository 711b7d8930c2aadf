package dnszone

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/dns/publish"
	"github.com/edgecert/edgecert/internal/dns/registry"
)

func TestSetStatus(t *testing.T) {
	type cond struct{ Type, Status, Reason, Message string }
	owned := []registry.Record{
		{Name: "a.example.com.", Type: "A"}, {Name: "b.example.com.", Type: "A"}, {Name: "c.example.com.", Type: "CNAME"},
	}
	tests := map[string]struct {
		prior     []metav1.Condition
		facts     facts
		want      []cond
		observed  int64
		records   map[string]int32
		conflicts []edgecertv1alpha1.DNSRecordProblem
		skipped   []edgecertv1alpha1.DNSRecordProblem
	}{
		"in sync": {
			facts:    facts{generation: 2, plan: &registry.Result{Owned: owned}},
			observed: 2,
			records:  map[string]int32{"A": 2, "CNAME": 1},
			want: []cond{
				{"Ready", "True", "RecordsInSync", "The zone holds the records of every published host"},
				{"Published", "True", "RecordsInSync", "Every host of the zone's sources is published"},
			},
		},
		"owner conflict": {
			facts: facts{generation: 1, plan: &registry.Result{Conflicts: []registry.Conflict{
				{Name: "shop.example.com.", Type: "A", Resource: "gateway/ns/gw", Owner: "cluster-b", Reason: `the A record at shop.example.com is owned by "cluster-b"`},
			}}},
			observed:  1,
			records:   map[string]int32{},
			conflicts: []edgecertv1alpha1.DNSRecordProblem{{Name: "shop.example.com A", Source: "gateway/ns/gw", Reason: `the A record at shop.example.com is owned by "cluster-b"`}},
			want: []cond{
				{"Ready", "True", "RecordsInSync", "The zone holds the records of every published host"},
				{"Published", "False", "DNSOwnerConflict", `1 records not published, held by others: the A record at shop.example.com is owned by "cluster-b"`},
			},
		},
		"skipped hosts": {
			facts:    facts{generation: 1, plan: &registry.Result{}, skipped: []publish.Skipped{{Host: "*", Resource: "gateway/ns/gw", Reason: "star"}}},
			observed: 1,
			records:  map[string]int32{},
			skipped:  []edgecertv1alpha1.DNSRecordProblem{{Name: "*", Source: "gateway/ns/gw", Reason: "star"}},
			want: []cond{
				{"Ready", "True", "RecordsInSync", "The zone holds the records of every published host"},
				{"Published", "False", "HostsSkipped", "1 hosts not published; status.skipped says why"},
			},
		},
		"provider refused: Ready=False with its words, retried, observedGeneration kept": {
			prior: []metav1.Condition{{Type: "Ready", Status: "True", Reason: "RecordsInSync", Message: "x"}},
			facts: facts{generation: 3, providerErr: errors.New("update of zone example.com. refused (NOTAUTH, TSIG BADSIG)")},
			want: []cond{
				{"Ready", "False", "DNSProviderError", "update of zone example.com. refused (NOTAUTH, TSIG BADSIG)"},
				{"Reconciling", "True", "TransientError", "update of zone example.com. refused (NOTAUTH, TSIG BADSIG)"},
			},
		},
		"missing Secret: Stalled": {
			facts:    facts{generation: 4, terminal: errors.New(`Secret edgecert-system/tsig does not exist`)},
			observed: 4,
			want: []cond{
				{"Ready", "False", "InvalidSpec", "Secret edgecert-system/tsig does not exist"},
				{"Stalled", "True", "InvalidSpec", "Secret edgecert-system/tsig does not exist"},
			},
		},
		"API error with no prior Ready: Unknown": {
			facts: facts{generation: 1, transient: errors.New("list Services: timeout")},
			want: []cond{
				{"Reconciling", "True", "TransientError", "list Services: timeout"},
				{"Ready", "Unknown", "Progressing", "Publishing records"},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := edgecertv1alpha1.DNSZoneStatus{Conditions: tc.prior}
			setStatus(&st, tc.facts)
			var got []cond
			for _, c := range st.Conditions {
				got = append(got, cond{c.Type, string(c.Status), c.Reason, c.Message})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if st.ObservedGeneration != tc.observed {
				t.Errorf("observedGeneration = %d, want %d", st.ObservedGeneration, tc.observed)
			}
			if diff := cmp.Diff(tc.records, st.Records, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.conflicts, st.OwnerConflicts, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ownerConflicts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.skipped, st.Skipped, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
		})
	}

	// Stable: the same facts twice give the same status.
	st := edgecertv1alpha1.DNSZoneStatus{}
	f := facts{generation: 1, plan: &registry.Result{Owned: owned}}
	setStatus(&st, f)
	first := st.DeepCopy()
	setStatus(&st, f)
	if diff := cmp.Diff(first, &st); diff != "" {
		t.Errorf("second pass changed the status (-first +second):\n%s", diff)
	}
}
