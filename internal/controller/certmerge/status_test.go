package certmerge

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/bundle"
)

func TestSetStatus(t *testing.T) {
	expiry := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	ok := &bundle.Result{Checksum: "abc", EarliestExpiry: expiry, Included: []bundle.Included{{Ref: bundle.Ref{Namespace: "ns", Name: "a"}, CertKey: "a.crt", KeyKey: "a.key", NotAfter: expiry}}}
	excluded := &bundle.Result{Checksum: "abc", Excluded: []bundle.Excluded{{Ref: bundle.Ref{Namespace: "ns", Name: "b"}, Reason: bundle.ReasonNotTLS, Message: "ns/b: not TLS"}}}
	collided := &bundle.Result{Checksum: "abc",
		Excluded:   []bundle.Excluded{{Ref: bundle.Ref{Namespace: "z", Name: "w"}, Reason: bundle.ReasonKeyCollision, Message: "taken"}},
		Collisions: []bundle.Collision{{Key: "w.crt", Kept: bundle.Ref{Namespace: "a", Name: "w"}, Dropped: bundle.Ref{Namespace: "z", Name: "w"}}}}

	type cond struct{ Type, Status, Reason string }
	tests := map[string]struct {
		facts       facts
		want        []cond
		wantObsGen  int64
		wantSources int32
	}{
		"all good": {
			facts:       facts{generation: 3, merged: ok},
			want:        []cond{{"SourcesReady", "True", "AllSourcesIncluded"}, {"KeysUnique", "True", "NoCollision"}, {"Ready", "True", "BundleUpToDate"}},
			wantObsGen:  3,
			wantSources: 1,
		},
		"a source left out": {
			facts:      facts{generation: 3, merged: excluded},
			want:       []cond{{"SourcesReady", "False", "SourcesExcluded"}, {"KeysUnique", "True", "NoCollision"}, {"Ready", "False", "SourcesExcluded"}},
			wantObsGen: 3,
		},
		"a collision": {
			facts:      facts{generation: 3, merged: collided},
			want:       []cond{{"SourcesReady", "True", "AllSourcesIncluded"}, {"KeysUnique", "False", "KeyCollision"}, {"Ready", "False", "KeyCollision"}},
			wantObsGen: 3,
		},
		"a workload missing": {
			facts:       facts{generation: 3, merged: ok, missingWorkloads: []string{"Deployment ns/gw"}},
			want:        []cond{{"SourcesReady", "True", "AllSourcesIncluded"}, {"KeysUnique", "True", "NoCollision"}, {"Ready", "False", "WorkloadNotFound"}},
			wantObsGen:  3,
			wantSources: 1,
		},
		// Refused outranks missing: the platform must bind edgecert-rollout.
		"a workload edgecert may not roll": {
			facts: facts{generation: 3, merged: ok, missingWorkloads: []string{"Deployment ns/gone"},
				forbiddenWorkloads: []string{"DaemonSet ns/agent"}, workloadNamespace: "ns"},
			want:        []cond{{"SourcesReady", "True", "AllSourcesIncluded"}, {"KeysUnique", "True", "NoCollision"}, {"Ready", "False", "WorkloadForbidden"}},
			wantObsGen:  3,
			wantSources: 1,
		},
		// The pass concluded about this spec (it is invalid): observed.
		"invalid spec": {
			facts:      facts{generation: 3, terminal: errors.New("bad"), terminalReason: edgecertv1alpha1.ReasonInvalidSpec},
			want:       []cond{{"Ready", "False", "InvalidSpec"}, {"Stalled", "True", "InvalidSpec"}},
			wantObsGen: 3,
		},
		// A transient error ended it before any conclusion: not observed.
		"transient error": {
			facts: facts{generation: 3, transient: errors.New("timeout")},
			want:  []cond{{"Reconciling", "True", "TransientError"}, {"Ready", "Unknown", "Progressing"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var st edgecertv1alpha1.CertMergeStatus
			setStatus(&st, tc.facts)
			var got []cond
			for _, c := range st.Conditions {
				got = append(got, cond{c.Type, string(c.Status), c.Reason})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if st.ObservedGeneration != tc.wantObsGen || st.SourceCount != tc.wantSources {
				t.Errorf("observedGeneration=%d sourceCount=%d, want %d and %d", st.ObservedGeneration, st.SourceCount, tc.wantObsGen, tc.wantSources)
			}
		})
	}
}

// A second pass with the same facts changes nothing, so no status write.
func TestSetStatusIsStable(t *testing.T) {
	res := &bundle.Result{Checksum: "abc"}
	var st edgecertv1alpha1.CertMergeStatus
	setStatus(&st, facts{generation: 1, merged: res})
	first := *st.DeepCopy()
	for i := range st.Conditions {
		st.Conditions[i].LastTransitionTime = metav1.NewTime(first.Conditions[i].LastTransitionTime.Add(-time.Hour))
	}
	before := *st.DeepCopy()
	setStatus(&st, facts{generation: 1, merged: res})
	if !equalStatus(&before, &st) {
		t.Errorf("second pass changed status:\n%s", cmp.Diff(before, st))
	}
}
