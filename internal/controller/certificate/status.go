package certificate

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/pki"
)

// facts are what one pass found; conditions are a pure function of them
// (setStatus). Order, revision and failure counts are state the steps keep
// in status themselves.
type facts struct {
	generation int64
	// decided is set once the pass compared the Secret with the current
	// spec: the status then describes this generation.
	decided bool
	// decision is issuance.Decide's answer for the Secret as found (or, once
	// a certificate is stored, the stored one).
	decision *issuance.Decision
	// current is the Secret's certificate and currentValid says it is
	// valid now and for the spec, so the Secret is usable: Ready=True.
	current      *pki.KeyPair
	currentValid bool
	// renewal is when the current certificate is due.
	renewal time.Time
	// secretProblem says why the Secret's content does not parse.
	secretProblem string

	// blocked is what stops issuance (issuer not Ready, invalid spec,
	// someone else's Secret, DNS credentials refused); stalled when a
	// person must act.
	blocked *reasoned
	stalled bool
	// failed is an attempt that ended this pass; rateLimited a CA asking
	// to wait.
	failed      *reasoned
	rateLimited *reasoned
	// backingOff: a failed attempt's backoff is not over yet.
	backingOff bool
	// waiting says what the order in flight waits for.
	waiting *reasoned
	// transient is the error that ended the pass, to be retried.
	transient error
}

// reasoned is a condition reason with its message.
type reasoned struct{ reason, message string }

// block records what stops issuance. The pass has then reached a
// conclusion about the current spec.
func (f *facts) block(reason, msg string, stalled bool) {
	f.blocked, f.stalled, f.decided = &reasoned{reason, msg}, stalled, true
}
func (f *facts) fail(reason, msg string) { f.failed = &reasoned{reason, msg} }
func (f *facts) rateLimit(msg string) {
	f.rateLimited = &reasoned{edgecertv1alpha1.ReasonRateLimited, msg}
}
func (f *facts) wait(reason, msg string) { f.waiting = &reasoned{reason, msg} }

// or is r, or other when r is nil.
func (r *reasoned) or(other *reasoned) *reasoned {
	if r != nil {
		return r
	}
	return other
}

// readyMessage is Ready's message while the Secret is usable. It does not
// change during a renewal, so that status is not written for nothing.
const readyMessage = "Certificate is up to date and has not expired"

// setStatus turns a pass's facts into the Certificate's conditions and
// validity fields:
//
//   - Ready is True while the Secret holds a certificate that is valid now
//     and matches the spec (also during a renewal); else False with what
//     blocks issuance, the last failure, or why a certificate is needed.
//   - Issuing is True while a certificate is being obtained (reason: why),
//     False while a failed attempt backs off or the CA asks to wait
//     (reason: the failure), absent when nothing is needed.
//   - Reconciling is True with what the order waits for or the last
//     transient error; absent when nothing is in progress.
//   - Stalled is True when a person must act.
//   - observedGeneration moves when the pass reached a conclusion about the
//     current spec (compared the Secret with it, or found what blocks it),
//     not when a transient error ended it before that.
//
// Facts a pass did not establish (an early step stopped it) leave the
// conditions they decide as they were.
func setStatus(cert *edgecertv1alpha1.Certificate, f facts) {
	st := &cert.Status
	c := kube.Conditions{List: &st.Conditions, Generation: f.generation}
	kube.ObserveGeneration(&st.ObservedGeneration, f.generation, f.decided)
	if f.current != nil && f.currentValid {
		nb, na := metav1.NewTime(f.current.Leaf.NotBefore), metav1.NewTime(f.current.Leaf.NotAfter)
		st.NotBefore, st.NotAfter = &nb, &na
		renewal := f.renewal
		if renewal.IsZero() {
			renewal = pki.RenewalTime(f.current.Leaf.NotBefore, f.current.Leaf.NotAfter, 0)
		}
		rt := metav1.NewTime(renewal)
		st.RenewalTime = &rt
	}

	failure := f.failed.or(f.rateLimited)
	switch {
	case f.currentValid:
		c.Ready(edgecertv1alpha1.ReasonIssued, readyMessage)
	case f.blocked != nil:
		c.NotReady(f.blocked.reason, f.blocked.message)
	case failure != nil:
		c.NotReady(failure.reason, failure.message)
	case f.backingOff:
		// Ready keeps the failure that started the backoff.
	case f.decision != nil && f.decision.Issue:
		c.NotReady(f.decision.Reason, f.decision.Message)
	}

	switch {
	case f.decision == nil:
	case failure != nil:
		c.Set(edgecertv1alpha1.IssuingCondition, metav1.ConditionFalse, failure.reason, failure.message)
	case f.backingOff:
		// Issuing keeps the failure that started the backoff.
	case f.decision.Issue || st.Order != nil:
		c.Set(edgecertv1alpha1.IssuingCondition, metav1.ConditionTrue, f.decision.Reason, f.decision.Message)
	default:
		c.Remove(edgecertv1alpha1.IssuingCondition)
	}

	switch {
	case f.blocked != nil && f.stalled:
		// Stalled, and Ready as set above: a valid certificate stays Ready
		// while its renewal is blocked.
		c.Set(edgecertv1alpha1.StalledCondition, metav1.ConditionTrue, f.blocked.reason, f.blocked.message)
		c.Remove(edgecertv1alpha1.ReconcilingCondition)
	case f.transient != nil:
		c.Set(edgecertv1alpha1.ReconcilingCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonTransientError, f.transient.Error())
	case f.waiting != nil:
		c.Reconciling(f.waiting.reason, f.waiting.message)
	case st.Order != nil:
		c.Reconciling(edgecertv1alpha1.ReasonProgressing, "ACME order "+st.Order.URL+" in progress")
	case f.decision != nil:
		c.Settled()
	default:
		c.Remove(edgecertv1alpha1.StalledCondition)
	}
}
