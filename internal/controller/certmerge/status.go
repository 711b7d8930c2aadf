package certmerge

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/bundle"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/rollout"
)

// facts are what one pass found; status is a pure function of them.
type facts struct {
	generation int64
	// terminal is an error a person must fix (invalid spec, a bundle
	// Secret edgecert does not own), with its reason.
	terminal       error
	terminalReason string
	// transient is an error that backs off and retries.
	transient error
	// merged is set when the pass computed the bundle.
	merged *bundle.Result
	// missingWorkloads are workloads named in the spec that do not exist.
	missingWorkloads []string
	// forbiddenWorkloads are workloads edgecert may not read or patch: the
	// namespace workloadNamespace did not bind edgecert-rollout.
	forbiddenWorkloads []string
	workloadNamespace  string
}

// setStatus turns a pass's facts into status: the source lists, Ready,
// Reconciling, Stalled, SourcesReady and KeysUnique. ObservedGeneration
// moves only when the pass acted on the spec.
func setStatus(st *edgecertv1alpha1.CertMergeStatus, f facts) {
	c := kube.Conditions{List: &st.Conditions, Generation: f.generation}
	set := c.Set
	kube.ObserveGeneration(&st.ObservedGeneration, f.generation, f.terminal != nil || f.merged != nil)
	switch {
	case f.terminal != nil:
		c.Stalled(f.terminalReason, f.terminal.Error())
		return
	case f.transient != nil:
		c.Reconciling(edgecertv1alpha1.ReasonTransientError, f.transient.Error())
		if meta.FindStatusCondition(st.Conditions, edgecertv1alpha1.ReadyCondition) == nil {
			set(edgecertv1alpha1.ReadyCondition, metav1.ConditionUnknown, edgecertv1alpha1.ReasonProgressing, "Merging sources")
		}
		return
	case f.merged == nil:
		return
	}
	res := f.merged
	c.Settled()

	st.Sources = nil
	for _, in := range res.Included {
		st.Sources = append(st.Sources, edgecertv1alpha1.BundleSourceStatus{
			Namespace: in.Namespace, Name: in.Name, CertKey: in.CertKey, KeyKey: in.KeyKey,
			Hosts: in.Hosts, NotAfter: metav1.NewTime(in.NotAfter), Stale: in.Stale,
		})
	}
	st.Excluded = nil
	var problems []string
	tooLarge := 0
	for _, ex := range res.Excluded {
		st.Excluded = append(st.Excluded, edgecertv1alpha1.ExcludedSource{Namespace: ex.Namespace, Name: ex.Name, Reason: ex.Reason, Message: ex.Message})
		if ex.Reason != bundle.ReasonKeyCollision {
			problems = append(problems, ex.Message)
		}
		if ex.Reason == bundle.ReasonBundleTooLarge {
			tooLarge++
		}
	}
	st.SourceCount = int32(len(res.Included))
	st.EarliestExpiry = nil
	if !res.EarliestExpiry.IsZero() {
		t := metav1.NewTime(res.EarliestExpiry)
		st.EarliestExpiry = &t
	}
	st.BundleChecksum = res.Checksum

	switch {
	case len(problems) == 0:
		set(edgecertv1alpha1.SourcesReadyCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonAllSourcesIncluded, fmt.Sprintf("%d sources in the bundle", len(res.Included)))
	case tooLarge > 0:
		set(edgecertv1alpha1.SourcesReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonBundleTooLarge, strings.Join(problems, "\n"))
	default:
		set(edgecertv1alpha1.SourcesReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonSourcesExcluded, strings.Join(problems, "\n"))
	}
	var collisions []string
	for _, c := range res.Collisions {
		collisions = append(collisions, fmt.Sprintf("%s and %s both map to %q; %s keeps it", c.Kept, c.Dropped, c.Key, c.Kept))
	}
	if len(collisions) == 0 {
		set(edgecertv1alpha1.KeysUniqueCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonNoCollision, "Every source has entries of its own")
	} else {
		set(edgecertv1alpha1.KeysUniqueCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonKeyCollision, strings.Join(collisions, "\n"))
	}

	switch {
	case tooLarge > 0:
		set(edgecertv1alpha1.ReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonBundleTooLarge, fmt.Sprintf("Bundle written with %d sources (%d bytes of its budget of %d); %d left out because they do not fit, see status.excluded", len(res.Included), res.Bytes, res.Budget.Bytes, tooLarge))
	case len(collisions) > 0:
		set(edgecertv1alpha1.ReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonKeyCollision, "Bundle written without the colliding sources: "+strings.Join(collisions, "\n"))
	case len(problems) > 0:
		set(edgecertv1alpha1.ReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonSourcesExcluded, fmt.Sprintf("Bundle written with %d sources; %d left out or stale, see status.excluded", len(res.Included), len(problems)))
	case len(f.forbiddenWorkloads) > 0:
		set(edgecertv1alpha1.ReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonWorkloadForbidden, rollout.ForbiddenMessage(f.forbiddenWorkloads, f.workloadNamespace))
	case len(f.missingWorkloads) > 0:
		set(edgecertv1alpha1.ReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonWorkloadNotFound, "Workloads to roll do not exist: "+strings.Join(f.missingWorkloads, ", "))
	default:
		set(edgecertv1alpha1.ReadyCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonBundleUpToDate, fmt.Sprintf("Bundle holds %d sources", len(res.Included)))
	}
}

// tooLargeChanged reports whether the sources left out for the size
// budget changed, and returns them now: a warning event names them.
func tooLargeChanged(before, after []edgecertv1alpha1.ExcludedSource) ([]string, bool) {
	pick := func(l []edgecertv1alpha1.ExcludedSource) []string {
		var out []string
		for _, e := range l {
			if e.Reason == edgecertv1alpha1.ReasonBundleTooLarge {
				out = append(out, e.Namespace+"/"+e.Name)
			}
		}
		return out
	}
	now := pick(after)
	return now, !slices.Equal(pick(before), now)
}

// excludedChanged reports whether the set of left-out sources or their
// reasons changed, which is when a warning event is worth sending.
func excludedChanged(before, after []edgecertv1alpha1.ExcludedSource) bool {
	return !slices.Equal(before, after)
}
