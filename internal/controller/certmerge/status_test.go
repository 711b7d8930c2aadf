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

	tooLarge := &bundle.Result{Checksum: "abc", EarliestExpiry: expiry, Bytes: 900, Budget: bundle.Budget{Bytes: 1000},
		Included: ok.Included,
		Excluded: []bundle.Excluded{
			{Ref: bundle.Ref{Namespace: "ns", Name: "big"}, Reason: bundle.ReasonBundleTooLarge, Message: "ns/big: left out"},
			{Ref: bundle.Ref{Namespace: "ns", Name: "c"}, Reason: bundle.ReasonNotTLS, Message: "ns/c: not TLS"},
		}}

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
		// Size first: it is what an operator must act on (split the
		// bundle), and the bundle still holds the sources that fit.
		"a source too large for the budget": {
			facts:       facts{generation: 3, merged: tooLarge},
			want:        []cond{{"SourcesReady", "False", "BundleTooLarge"}, {"KeysUnique", "True", "NoCollision"}, {"Ready", "False", "BundleTooLarge"}},
			wantObsGen:  3,
			wantSources: 1,
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

func TestSetStatusNamesTheSourcesLeftOutForSize(t *testing.T) {
	res := &bundle.Result{Checksum: "abc", Bytes: 900, Budget: bundle.Budget{Bytes: 1000},
		Included: []bundle.Included{{Ref: bundle.Ref{Namespace: "ns", Name: "a"}, CertKey: "a.crt", KeyKey: "a.key"}},
		Excluded: []bundle.Excluded{{Ref: bundle.Ref{Namespace: "ns", Name: "big"}, Reason: bundle.ReasonBundleTooLarge, Message: "ns/big: left out"}}}
	var st edgecertv1alpha1.CertMergeStatus
	setStatus(&st, facts{generation: 1, merged: res})
	want := map[string]string{
		"SourcesReady": "ns/big: left out",
		"KeysUnique":   "Every source has entries of its own",
		"Ready":        "Bundle written with 1 sources (900 bytes of its budget of 1000); 1 left out because they do not fit, see status.excluded",
	}
	got := map[string]string{}
	for _, c := range st.Conditions {
		got[c.Type] = c.Message
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("condition messages (-want +got):\n%s", diff)
	}
	wantExcluded := []edgecertv1alpha1.ExcludedSource{{Namespace: "ns", Name: "big", Reason: "BundleTooLarge", Message: "ns/big: left out"}}
	if diff := cmp.Diff(wantExcluded, st.Excluded); diff != "" {
		t.Errorf("excluded (-want +got):\n%s", diff)
	}
}

func TestTooLargeChanged(t *testing.T) {
	ex := func(name, reason string) edgecertv1alpha1.ExcludedSource {
		return edgecertv1alpha1.ExcludedSource{Namespace: "ns", Name: name, Reason: reason}
	}
	tests := map[string]struct {
		before, after []edgecertv1alpha1.ExcludedSource
		wantNow       []string
		wantChanged   bool
	}{
		"none":                 {},
		"one more":             {before: []edgecertv1alpha1.ExcludedSource{ex("a", "BundleTooLarge")}, after: []edgecertv1alpha1.ExcludedSource{ex("a", "BundleTooLarge"), ex("b", "BundleTooLarge")}, wantNow: []string{"ns/a", "ns/b"}, wantChanged: true},
		"same, others changed": {before: []edgecertv1alpha1.ExcludedSource{ex("a", "BundleTooLarge")}, after: []edgecertv1alpha1.ExcludedSource{ex("a", "BundleTooLarge"), ex("c", "NotTLS")}, wantNow: []string{"ns/a"}},
		"all fit again":        {before: []edgecertv1alpha1.ExcludedSource{ex("a", "BundleTooLarge")}, wantChanged: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			now, changed := tooLargeChanged(tc.before, tc.after)
			if diff := cmp.Diff(tc.wantNow, now); diff != "" || changed != tc.wantChanged {
				t.Errorf("tooLargeChanged = %v, %v, want %v, %v", now, changed, tc.wantNow, tc.wantChanged)
			}
		})
	}
}

func TestListSome(t *testing.T) {
	if got, want := listSome([]string{"a", "b", "c"}, 2), "a, b and 1 more"; got != want {
		t.Errorf("listSome = %q, want %q", got, want)
	}
	if got, want := listSome([]string{"a", "b"}, 2), "a, b"; got != want {
		t.Errorf("listSome = %q, want %q", got, want)
	}
}
