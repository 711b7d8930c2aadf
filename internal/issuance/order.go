package issuance

import (
	"fmt"
	"strings"
	"time"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// ACME object states (RFC 8555, section 7.1.6).
const (
	StatusPending     = "pending"
	StatusReady       = "ready"
	StatusProcessing  = "processing"
	StatusValid       = "valid"
	StatusInvalid     = "invalid"
	StatusDeactivated = "deactivated"
	StatusExpired     = "expired"
	StatusRevoked     = "revoked"
)

// Action is what the reconciler does next with an order in flight.
type Action string

// The actions, in the order an order normally needs them.
const (
	// ActionChoose: some pending authorizations have no challenge chosen
	// yet; choose one for each (Step.Authorizations), and answer none
	// before every one has its challenge.
	ActionChoose Action = "Choose"
	// ActionPresent: make the pending challenges of Step.Authorizations
	// answerable (publish TXT records, route HTTP-01 through Istio) and
	// find out whether they are.
	ActionPresent Action = "Present"
	// ActionAccept: tell the CA to validate the challenges of
	// Step.Authorizations; their answers are in place.
	ActionAccept Action = "Accept"
	// ActionWait: nothing to do before the CA or DNS moves; look again
	// after Step.Wait.
	ActionWait Action = "Wait"
	// ActionNewKey: the order is ready and the key it is to be finalized
	// with is gone (no CSR was sent yet, so another key is fine); make a
	// new key and record it before finalizing.
	ActionNewKey Action = "NewKey"
	// ActionFinalize: send the CSR.
	ActionFinalize Action = "Finalize"
	// ActionStore: download the chain and write the Secret.
	ActionStore Action = "Store"
	// ActionComplete: the Secret already holds this order's certificate (a
	// pass stored it and could not record it); record it without storing
	// again.
	ActionComplete Action = "Complete"
	// ActionFail: the CA failed the order; record the CA's reasons, clean
	// up and back off.
	ActionFail Action = "Fail"
	// ActionAbandon: give the order up without the CA having failed it
	// (Step.Message says why); clean up and back off.
	ActionAbandon Action = "Abandon"
)

// Order is what the CA and edgecert know about an order in flight, gathered
// by the reconciler before asking NextStep.
type Order struct {
	// Status is the order's status at the CA.
	Status string
	// Age is how long ago edgecert created (or adopted) the order; it
	// bounds the order's life (Limits.MaxAge).
	Age time.Duration
	// SinceLastStep is how long ago edgecert last acted on the order
	// (created it, asked the CA to validate, finalized): polls are fast
	// right after a step, when the CA usually answers, and slow down after.
	SinceLastStep time.Duration
	// KeyAvailable is false when the key the order is to be finalized with
	// cannot be read any more.
	KeyAvailable bool
	// Stored is true when the Secret already holds the certificate of this
	// order.
	Stored bool
	// Problem is the CA's reason on the order itself, when it failed.
	Problem string
	// Authorizations are the order's authorizations, read only while the
	// order is pending.
	Authorizations []Authorization
}

// Authorization is one authorization of an order and the challenge edgecert
// answers for it.
type Authorization struct {
	// Name is the identifier ("*.example.com" for a wildcard), for messages.
	Name string
	// Status is the authorization's status at the CA.
	Status string
	// Chosen is true when edgecert recorded which challenge answers it.
	Chosen bool
	// DNS01 is true when the chosen challenge is dns-01.
	DNS01 bool
	// ChallengeStatus is the status at the CA of the chosen challenge.
	ChallengeStatus string
	// Answerable is true when the chosen challenge's answer is in place:
	// the TXT record visible at the authoritative servers, or the HTTP-01
	// answer recorded in status (and routed, through Istio).
	Answerable bool
	// Waiting says, when the answer is not in place yet, what it waits for
	// (a TXT record to propagate, a route to reach the gateway).
	Waiting string
	// SelfCheckFailures is how many times in a row edgecert's own fetch of
	// the HTTP-01 answer, made the way the CA will make it, failed (0: it
	// passed, or was not made); Waiting then says why. The CA is not told
	// to validate such a challenge.
	SelfCheckFailures int
	// Problem is the CA's reason when the authorization or its challenge
	// failed.
	Problem string
}

// Limits bound how long an order may take.
type Limits struct {
	// MaxAge is how long an order may stay unfinished before it is
	// abandoned and a new one made.
	MaxAge time.Duration
	// RetryAfter is the CA's Retry-After on the last poll, if any.
	RetryAfter time.Duration
}

// DefaultMaxOrderAge abandons orders that are not finished after an hour:
// a healthy order takes seconds, a slow DNS provider minutes.
const DefaultMaxOrderAge = time.Hour

// Step is NextStep's answer.
type Step struct {
	Action Action
	// Authorizations are the indexes (into Order.Authorizations) the action
	// applies to, for Choose, Present and Accept.
	Authorizations []int
	// Wait is how long to wait before looking again, for Wait.
	Wait time.Duration
	// Reason (a Certificate reason constant) and Message explain Wait,
	// Fail and Abandon.
	Reason  string
	Message string
}

// NextStep decides what to do with an order in flight, given what the CA
// and edgecert know about it. It is the whole order state machine: the
// reconciler gathers the facts, runs the step and asks again, until the
// answer is to wait or the order has ended.
func NextStep(o Order, l Limits) Step {
	switch o.Status {
	case StatusValid:
		if o.Stored {
			return Step{Action: ActionComplete}
		}
		return Step{Action: ActionStore}
	case StatusInvalid:
		return Step{Action: ActionFail, Reason: edgecertv1alpha1.ReasonOrderFailed, Message: orderProblem(o)}
	}
	if l.MaxAge > 0 && o.Age >= l.MaxAge {
		msg := fmt.Sprintf("the order was not finished within %s", l.MaxAge)
		if w := waitingFor(o); w != "" {
			msg += "; still waiting for " + w
		}
		return Step{Action: ActionAbandon, Reason: edgecertv1alpha1.ReasonOrderAbandoned, Message: msg}
	}
	switch o.Status {
	case StatusReady:
		if !o.KeyAvailable {
			return Step{Action: ActionNewKey}
		}
		return Step{Action: ActionFinalize}
	case StatusProcessing:
		return Step{Action: ActionWait, Wait: PollDelay(o.SinceLastStep, l.RetryAfter), Reason: edgecertv1alpha1.ReasonProgressing, Message: "The CA is issuing the certificate"}
	case StatusPending:
		return pendingStep(o, l)
	}
	return Step{Action: ActionAbandon, Reason: edgecertv1alpha1.ReasonOrderAbandoned, Message: fmt.Sprintf("the CA reports the order as %q, which ACME does not define", o.Status)}
}

// pendingStep decides for a pending order, authorization by authorization:
// a failed one fails the order; challenges are chosen for all before any is
// answered; answers are put in place, then the CA is asked to validate.
func pendingStep(o Order, l Limits) Step {
	var choose, present, accept []int
	for i, a := range o.Authorizations {
		switch a.Status {
		case StatusValid:
			continue
		case StatusPending:
		default:
			return Step{Action: ActionFail, Reason: edgecertv1alpha1.ReasonOrderFailed, Message: orderProblem(o)}
		}
		switch {
		case !a.Chosen:
			choose = append(choose, i)
		case a.ChallengeStatus == StatusInvalid:
			return Step{Action: ActionFail, Reason: edgecertv1alpha1.ReasonOrderFailed, Message: orderProblem(o)}
		case a.ChallengeStatus != StatusPending:
			// processing or valid: the CA is at work on it.
		case a.Answerable:
			accept = append(accept, i)
		default:
			present = append(present, i)
		}
	}
	switch {
	case len(choose) > 0:
		return Step{Action: ActionChoose, Authorizations: choose}
	case len(present) > 0 && !anyWaiting(o, present):
		return Step{Action: ActionPresent, Authorizations: present}
	case len(accept) > 0:
		return Step{Action: ActionAccept, Authorizations: accept}
	case len(present) > 0:
		reason, wait := edgecertv1alpha1.ReasonProgressing, PollDelay(o.SinceLastStep, l.RetryAfter)
		failures := 0
		for _, i := range present {
			failures = max(failures, o.Authorizations[i].SelfCheckFailures)
		}
		if failures > 0 {
			reason, wait = edgecertv1alpha1.ReasonWaitingForHTTP01Reachability, max(wait, SelfCheckRetryDelay(failures))
		}
		for _, i := range present {
			if o.Authorizations[i].DNS01 {
				reason = edgecertv1alpha1.ReasonWaitingForDNSPropagation
			}
		}
		return Step{Action: ActionWait, Wait: wait, Reason: reason, Message: "Waiting for " + waitingFor(o)}
	}
	return Step{Action: ActionWait, Wait: PollDelay(o.SinceLastStep, l.RetryAfter), Reason: edgecertv1alpha1.ReasonProgressing, Message: "The CA is validating the challenges"}
}

// SelfCheckRetryDelay is how long to wait before fetching an HTTP-01
// answer again after failures self-checks in a row failed: 1 s, doubling
// up to 30 s, so a route that takes a moment is found quickly and one that
// never comes costs one request per challenge every 30 s.
func SelfCheckRetryDelay(failures int) time.Duration {
	const first, most = time.Second, 30 * time.Second
	if failures < 1 {
		return 0
	}
	if failures > 6 {
		return most
	}
	return min(first<<(failures-1), most)
}

// anyWaiting reports whether presenting was already tried for one of idx
// and is waiting (the reconciler fills Waiting after presenting): then it
// is time to wait, not to present again.
func anyWaiting(o Order, idx []int) bool {
	for _, i := range idx {
		if o.Authorizations[i].Waiting != "" {
			return true
		}
	}
	return false
}

// waitingFor lists what unanswerable challenges wait for.
func waitingFor(o Order) string {
	var out []string
	for _, a := range o.Authorizations {
		if a.Status == StatusPending && a.Chosen && a.ChallengeStatus == StatusPending && !a.Answerable && a.Waiting != "" {
			out = append(out, a.Waiting)
		}
	}
	return strings.Join(out, ", ")
}

// orderProblem collects the CA's reasons from the authorizations.
func orderProblem(o Order) string {
	var out []string
	for _, a := range o.Authorizations {
		if a.Problem != "" {
			out = append(out, a.Problem)
		}
	}
	if len(out) == 0 && o.Problem != "" {
		out = append(out, o.Problem)
	}
	if len(out) == 0 {
		return "the CA marked the order invalid"
	}
	return strings.Join(out, "; ")
}
