package kube

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// MaxMessage bounds condition messages, so that a long list of problems
// stays readable (the API allows 32 KiB).
const MaxMessage = 4096

// Conditions writes one object's conditions for one pass: the kstatus
// ones every kind reports (Ready, Reconciling, Stalled; see
// api/v1alpha1/conditions.go) and its domain conditions, at the object's
// generation, with messages cut to MaxMessage. A condition set again with
// the same status keeps its transition time, so a pass that found the same
// writes nothing.
type Conditions struct {
	List       *[]metav1.Condition
	Generation int64
}

// Set sets one condition.
func (c Conditions) Set(typ string, status metav1.ConditionStatus, reason, message string) {
	if len(message) > MaxMessage {
		message = message[:MaxMessage-3] + "..."
	}
	meta.SetStatusCondition(c.List, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message, ObservedGeneration: c.Generation})
}

// Remove removes one condition.
func (c Conditions) Remove(typ string) { meta.RemoveStatusCondition(c.List, typ) }

// Ready sets Ready=True: the object does what its spec asks.
func (c Conditions) Ready(reason, message string) {
	c.Set(edgecertv1alpha1.ReadyCondition, metav1.ConditionTrue, reason, message)
}

// NotReady sets Ready=False.
func (c Conditions) NotReady(reason, message string) {
	c.Set(edgecertv1alpha1.ReadyCondition, metav1.ConditionFalse, reason, message)
}

// Stalled records that a person must act: Stalled=True, and Ready=False,
// with the same reason and message; nothing is reconciling.
func (c Conditions) Stalled(reason, message string) {
	c.NotReady(reason, message)
	c.Set(edgecertv1alpha1.StalledCondition, metav1.ConditionTrue, reason, message)
	c.Remove(edgecertv1alpha1.ReconcilingCondition)
}

// Reconciling records work under way, or a transient error being retried:
// Reconciling=True; nothing is stalled. Ready is left to the caller.
func (c Conditions) Reconciling(reason, message string) {
	c.Set(edgecertv1alpha1.ReconcilingCondition, metav1.ConditionTrue, reason, message)
	c.Remove(edgecertv1alpha1.StalledCondition)
}

// Settled records that nothing is under way and nothing blocked:
// Reconciling and Stalled are removed.
func (c Conditions) Settled() {
	c.Remove(edgecertv1alpha1.ReconcilingCondition)
	c.Remove(edgecertv1alpha1.StalledCondition)
}

// ObserveGeneration is the one rule for status.observedGeneration, for
// every kind: it moves to the object's generation when a pass reached a
// conclusion about that spec (did what it asks, or found what keeps it from
// it and said so), and stays when a transient error ended the pass before
// that. observedGeneration == metadata.generation thus means "the
// conditions describe the current spec" (kstatus reads it so).
func ObserveGeneration(observed *int64, generation int64, concluded bool) {
	if concluded {
		*observed = generation
	}
}

// Stop is how a pass ends when a person must act (its status says Stalled):
// with a reconcile.TerminalError, which the workqueue does not retry, since
// a watch brings the object back when something it depends on changes. When
// what must change is not watched (a Secret edgecert does not cache, a DNS
// provider's credentials), recheck > 0 brings it back after that long
// instead.
func Stop(err error, recheck time.Duration) (ctrl.Result, error) {
	if recheck > 0 {
		return ctrl.Result{RequeueAfter: recheck}, nil
	}
	return ctrl.Result{}, reconcile.TerminalError(err)
}
