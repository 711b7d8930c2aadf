package dnszone

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/dns/publish"
	"github.com/edgecert/edgecert/internal/dns/registry"
	"github.com/edgecert/edgecert/internal/kube"
)

// maxListed bounds status.ownerConflicts and status.skipped.
const maxListed = 100

// facts are what one pass found; status is a pure function of them.
type facts struct {
	generation int64
	// terminal is a spec or Secret problem a person must fix.
	terminal error
	// providerErr is the DNS service's refusal or failure.
	providerErr error
	// transient is any other error (API server, cache).
	transient error
	// skipped are hosts not published, whatever happened next.
	skipped []publish.Skipped
	// plan is set once the zone was listed, planned and changed.
	plan *registry.Result
}

// setStatus turns a pass's facts into status: Ready, Reconciling,
// Stalled, Published, the record counts and the lists of conflicts and
// skipped hosts. observedGeneration moves when the pass concluded.
func setStatus(st *edgecertv1alpha1.DNSZoneStatus, f facts) {
	c := kube.Conditions{List: &st.Conditions, Generation: f.generation}
	kube.ObserveGeneration(&st.ObservedGeneration, f.generation, f.terminal != nil || f.plan != nil)
	switch {
	case f.terminal != nil:
		c.Stalled(edgecertv1alpha1.ReasonInvalidSpec, kube.TerminalMessage(f.terminal))
		return
	case f.providerErr != nil:
		c.NotReady(edgecertv1alpha1.ReasonDNSProviderError, f.providerErr.Error())
		c.Reconciling(edgecertv1alpha1.ReasonTransientError, f.providerErr.Error())
		return
	case f.transient != nil:
		c.Reconciling(edgecertv1alpha1.ReasonTransientError, f.transient.Error())
		if meta.FindStatusCondition(st.Conditions, edgecertv1alpha1.ReadyCondition) == nil {
			c.Set(edgecertv1alpha1.ReadyCondition, metav1.ConditionUnknown, edgecertv1alpha1.ReasonProgressing, "Publishing records")
		}
		return
	case f.plan == nil:
		return
	}
	c.Settled()
	c.Ready(edgecertv1alpha1.ReasonRecordsInSync, "The zone holds the records of every published host")

	st.Records = map[string]int32{}
	for _, r := range f.plan.Owned {
		st.Records[r.Type]++
	}
	st.OwnerConflicts = nil
	var conflictText []string
	for i, cf := range f.plan.Conflicts {
		if i < maxListed {
			st.OwnerConflicts = append(st.OwnerConflicts, edgecertv1alpha1.DNSRecordProblem{Name: strings.TrimSuffix(cf.Name, ".") + " " + cf.Type, Source: cf.Resource, Reason: cf.Reason})
		}
		if i < 5 {
			conflictText = append(conflictText, cf.Reason)
		}
	}
	st.Skipped = nil
	for i, sk := range f.skipped {
		if i == maxListed {
			break
		}
		st.Skipped = append(st.Skipped, edgecertv1alpha1.DNSRecordProblem{Name: sk.Host, Source: sk.Resource, Reason: sk.Reason})
	}
	switch {
	case len(f.plan.Conflicts) > 0:
		msg := fmt.Sprintf("%d records not published, held by others: %s", len(f.plan.Conflicts), strings.Join(conflictText, "; "))
		if len(f.plan.Conflicts) > len(conflictText) {
			msg += "; ..."
		}
		c.Set(edgecertv1alpha1.PublishedCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonDNSOwnerConflict, msg)
	case len(f.skipped) > 0:
		c.Set(edgecertv1alpha1.PublishedCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostsSkipped,
			fmt.Sprintf("%d hosts not published; status.skipped says why", len(f.skipped)))
	default:
		c.Set(edgecertv1alpha1.PublishedCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonRecordsInSync, "Every host of the zone's sources is published")
	}
}
