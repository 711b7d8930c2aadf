package gatewayservice

import (
	"k8s.io/apimachinery/pkg/api/meta"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/kube"
)

// facts are what a pass found, turned into conditions by setStatus.
type facts struct {
	generation int64
	// reason and message describe Ready; isReady makes it True.
	reason, message string
	isReady         bool
	// stalled: a person must act (Stalled=True).
	stalled bool
	// waiting: edgecert is waiting for something it watches
	// (Reconciling=True): a Certificate, a Gateway.
	waiting bool
	// transient is an error the workqueue retries.
	transient error
	// requeued: the pass lost a write race and runs again at once.
	requeued bool
}

// fail records what a person must fix.
func (f *facts) fail(reason, message string) {
	f.reason, f.message, f.stalled, f.isReady = reason, message, true, false
}

func (f *facts) wait(reason, message string) {
	f.reason, f.message, f.waiting, f.isReady = reason, message, true, false
}

func (f *facts) ready(message string) {
	f.reason, f.message, f.isReady = edgecertv1alpha1.ReasonServerReady, message, true
}

func (f *facts) failed() bool { return f.reason != "" && !f.isReady }

// readyBlocked are the reasons that end when something else changes (a
// competing server goes, the Gateway appears); GatewayServices with them
// are woken by changes to Gateways and other GatewayServices.
var readyBlocked = map[string]bool{
	edgecertv1alpha1.ReasonHostConflict:     true,
	edgecertv1alpha1.ReasonPortConflict:     true,
	edgecertv1alpha1.ReasonPortNameConflict: true,
	edgecertv1alpha1.ReasonGatewayNotFound:  true,
}

// setStatus turns facts into Ready, Reconciling and Stalled (kstatus).
// A transient error keeps Ready as it was and sets Reconciling; a pass that
// lost a race changes nothing. ObservedGeneration moves only when the pass
// reached a decision.
func setStatus(st *edgecertv1alpha1.GatewayServiceStatus, f facts) {
	if f.requeued {
		return
	}
	c := kube.Conditions{List: &st.Conditions, Generation: f.generation}
	if f.transient != nil {
		c.Reconciling(edgecertv1alpha1.ReasonTransientError, kube.TerminalMessage(f.transient))
		if meta.FindStatusCondition(st.Conditions, edgecertv1alpha1.ReadyCondition) == nil {
			c.NotReady(edgecertv1alpha1.ReasonProgressing, "Not reconciled yet")
		}
		return
	}
	if f.reason == "" {
		return
	}
	kube.ObserveGeneration(&st.ObservedGeneration, f.generation, true)
	switch {
	case f.stalled:
		c.Stalled(f.reason, f.message)
	case f.waiting:
		c.NotReady(f.reason, f.message)
		c.Reconciling(f.reason, f.message)
	case f.isReady:
		c.Ready(f.reason, f.message)
		c.Settled()
	default:
		c.NotReady(f.reason, f.message)
		c.Settled()
	}
}
