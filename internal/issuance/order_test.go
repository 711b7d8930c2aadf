package issuance

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNextStep(t *testing.T) {
	limits := Limits{MaxAge: time.Hour}
	// pendingAuthz is an authorization whose dns-01 challenge was chosen and
	// is still pending at the CA.
	pendingAuthz := func(name string) Authorization {
		return Authorization{Name: name, Status: StatusPending, Chosen: true, DNS01: true, ChallengeStatus: StatusPending}
	}
	answerable := func(a Authorization) Authorization { a.Answerable = true; return a }
	waiting := func(a Authorization, what string) Authorization { a.Waiting = what; return a }
	with := func(a Authorization, f func(*Authorization)) Authorization { f(&a); return a }

	type testCase struct {
		order Order
		// limits default to an hour's MaxAge; noLimits sets none.
		limits   Limits
		noLimits bool
		want     Step
	}
	tests := map[string]testCase{
		"valid and not stored: store": {
			order: Order{Status: StatusValid},
			want:  Step{Action: ActionStore},
		},
		"valid and stored by an earlier pass: complete without storing again": {
			order: Order{Status: StatusValid, Stored: true},
			want:  Step{Action: ActionComplete},
		},
		"valid even when old: store, the certificate is there": {
			order: Order{Status: StatusValid, Age: 2 * time.Hour},
			want:  Step{Action: ActionStore},
		},
		"invalid with the CA's reasons from the authorizations": {
			order: Order{Status: StatusInvalid, Problem: "order problem", Authorizations: []Authorization{
				{Name: "a.example", Status: StatusValid},
				{Name: "b.example", Status: StatusInvalid, Problem: "dns: NXDOMAIN looking up TXT for _acme-challenge.b.example"},
			}},
			want: Step{Action: ActionFail, Reason: "OrderFailed", Message: "dns: NXDOMAIN looking up TXT for _acme-challenge.b.example"},
		},
		"invalid with the reason on the order only": {
			order: Order{Status: StatusInvalid, Problem: "badCSR: key too small"},
			want:  Step{Action: ActionFail, Reason: "OrderFailed", Message: "badCSR: key too small"},
		},
		"invalid without any reason": {
			order: Order{Status: StatusInvalid},
			want:  Step{Action: ActionFail, Reason: "OrderFailed", Message: "the CA marked the order invalid"},
		},
		"too old, naming what it waits for": {
			order: Order{Status: StatusPending, Age: time.Hour, Authorizations: []Authorization{
				waiting(pendingAuthz("a.example"), "TXT record _acme-challenge.a.example. (zone example.) to be served by every authoritative server"),
			}},
			want: Step{Action: ActionAbandon, Reason: "OrderAbandoned", Message: "the order was not finished within 1h0m0s; still waiting for TXT record _acme-challenge.a.example. (zone example.) to be served by every authoritative server"},
		},
		"too old while the CA processes: abandon": {
			order: Order{Status: StatusProcessing, Age: 90 * time.Minute},
			want:  Step{Action: ActionAbandon, Reason: "OrderAbandoned", Message: "the order was not finished within 1h0m0s"},
		},
		"no age limit": {
			order:    Order{Status: StatusProcessing, Age: 90 * time.Minute, SinceLastStep: 90 * time.Minute},
			noLimits: true,
			want:     Step{Action: ActionWait, Wait: 30 * time.Second, Reason: "Progressing", Message: "The CA is issuing the certificate"},
		},
		"ready with its key: finalize": {
			order: Order{Status: StatusReady, KeyAvailable: true},
			want:  Step{Action: ActionFinalize},
		},
		"ready and the key is gone: a new key before the CSR": {
			order: Order{Status: StatusReady},
			want:  Step{Action: ActionNewKey},
		},
		"processing: wait at the fast pace right after a step": {
			order: Order{Status: StatusProcessing, Age: time.Minute, SinceLastStep: time.Second},
			want:  Step{Action: ActionWait, Wait: 20 * time.Millisecond, Reason: "Progressing", Message: "The CA is issuing the certificate"},
		},
		"processing: never faster than the CA asks": {
			order:  Order{Status: StatusProcessing},
			limits: Limits{MaxAge: time.Hour, RetryAfter: 3 * time.Second},
			want:   Step{Action: ActionWait, Wait: 3 * time.Second, Reason: "Progressing", Message: "The CA is issuing the certificate"},
		},
		"unknown status: abandon": {
			order: Order{Status: "revoked"},
			want:  Step{Action: ActionAbandon, Reason: "OrderAbandoned", Message: `the CA reports the order as "revoked", which ACME does not define`},
		},
		"pending, nothing chosen: choose for every authorization": {
			order: Order{Status: StatusPending, Authorizations: []Authorization{
				{Name: "a.example", Status: StatusPending},
				{Name: "*.a.example", Status: StatusPending},
			}},
			want: Step{Action: ActionChoose, Authorizations: []int{0, 1}},
		},
		"partial order: one chosen and answerable, one not chosen: choose first, accept nothing": {
			order: Order{Status: StatusPending, Authorizations: []Authorization{
				answerable(pendingAuthz("a.example")),
				{Name: "b.example", Status: StatusPending},
			}},
			want: Step{Action: ActionChoose, Authorizations: []int{1}},
		},
		"already valid authorizations need nothing (reused by the CA)": {
			order: Order{Status: StatusPending, Authorizations: []Authorization{
				{Name: "a.example", Status: StatusValid},
				pendingAuthz("b.example"),
			}},
			want: Step{Action: ActionPresent, Authorizations: []int{1}},
		},
		"chosen and not presented: present": {
			order: Order{Status: StatusPending, Authorizations: []Authorization{pendingAuthz("a.example"), pendingAuthz("b.example")}},
			want:  Step{Action: ActionPresent, Authorizations: []int{0, 1}},
		},
		"answerable: accept": {
			order: Order{Status: StatusPending, Authorizations: []Authorization{answerable(pendingAuthz("a.example")), answerable(pendingAuthz("b.example"))}},
			want:  Step{Action: ActionAccept, Authorizations: []int{0, 1}},
		},
		"one answerable, one waiting for DNS: accept the one, then wait": {
			order: Order{Status: StatusPending, Authorizations: []Authorization{
				answerable(pendingAuthz("a.example")),
				waiting(pendingAuthz("b.example"), "TXT record _acme-challenge.b.example. (zone example.) to be served by every authoritative server"),
			}},
			want: Step{Action: ActionAccept, Authorizations: []int{0}},
		},
		"waiting for DNS propagation": {
			order: Order{Status: StatusPending, Authorizations: []Authorization{
				waiting(pendingAuthz("a.example"), "TXT record _acme-challenge.a.example. (zone example.) to be served by every authoritative server"),
				with(pendingAuthz("b.example"), func(a *Authorization) { a.ChallengeStatus = StatusProcessing }),
			}},
			want: Step{Action: ActionWait, Wait: 20 * time.Millisecond, Reason: "WaitingForDNSPropagation", Message: "Waiting for TXT record _acme-challenge.a.example. (zone example.) to be served by every authoritative server"},
		},
		"waiting for an HTTP-01 route": {
			order: Order{Status: StatusPending, Age: 3 * time.Second, SinceLastStep: 3 * time.Second, Authorizations: []Authorization{
				with(waiting(pendingAuthz("a.example"), "the HTTP-01 route for a.example to reach the gateway"), func(a *Authorization) { a.DNS01 = false }),
			}},
			want: Step{Action: ActionWait, Wait: 500 * time.Millisecond, Reason: "Progressing", Message: "Waiting for the HTTP-01 route for a.example to reach the gateway"},
		},
		"HTTP-01 answer not fetched by the self-check, the third time: wait 4s without accepting": {
			order: Order{Status: StatusPending, SinceLastStep: 3 * time.Second, Authorizations: []Authorization{
				with(waiting(pendingAuthz("a.example"), "the HTTP-01 answer for a.example to be served at http://a.example/.well-known/acme-challenge/t (lookup a.example: no such host)"), func(a *Authorization) { a.DNS01 = false; a.SelfCheckFailures = 3 }),
			}},
			want: Step{Action: ActionWait, Wait: 4 * time.Second, Reason: "WaitingForHTTP01Reachability", Message: "Waiting for the HTTP-01 answer for a.example to be served at http://a.example/.well-known/acme-challenge/t (lookup a.example: no such host)"},
		},
		"HTTP-01 self-check failing for an hour: the order is abandoned at its maximum age": {
			order: Order{Status: StatusPending, Age: time.Hour, SinceLastStep: time.Hour, Authorizations: []Authorization{
				with(waiting(pendingAuthz("a.example"), "the HTTP-01 answer for a.example to be served at http://a.example/.well-known/acme-challenge/t (the answer is 404 Not Found)"), func(a *Authorization) { a.DNS01 = false; a.SelfCheckFailures = 200 }),
			}},
			want: Step{Action: ActionAbandon, Reason: "OrderAbandoned", Message: "the order was not finished within 1h0m0s; still waiting for the HTTP-01 answer for a.example to be served at http://a.example/.well-known/acme-challenge/t (the answer is 404 Not Found)"},
		},
		"one HTTP-01 answer fetched, another not: accept the fetched one only": {
			order: Order{Status: StatusPending, Authorizations: []Authorization{
				with(answerable(pendingAuthz("a.example")), func(a *Authorization) { a.DNS01 = false }),
				with(waiting(pendingAuthz("b.example"), "the HTTP-01 answer for b.example to be served at http://b.example/.well-known/acme-challenge/t (the answer is 404 Not Found)"), func(a *Authorization) { a.DNS01 = false; a.SelfCheckFailures = 1 }),
			}},
			want: Step{Action: ActionAccept, Authorizations: []int{0}},
		},
		"challenges processing at the CA: wait": {
			order: Order{Status: StatusPending, Authorizations: []Authorization{
				with(pendingAuthz("a.example"), func(a *Authorization) { a.ChallengeStatus = StatusProcessing }),
				with(pendingAuthz("b.example"), func(a *Authorization) { a.ChallengeStatus = StatusValid }),
			}},
			want: Step{Action: ActionWait, Wait: 20 * time.Millisecond, Reason: "Progressing", Message: "The CA is validating the challenges"},
		},
		"a challenge failed while its authorization is still pending: fail": {
			order: Order{Status: StatusPending, Authorizations: []Authorization{
				answerable(pendingAuthz("a.example")),
				with(pendingAuthz("b.example"), func(a *Authorization) { a.ChallengeStatus = StatusInvalid; a.Problem = "unauthorized: wrong TXT value" }),
			}},
			want: Step{Action: ActionFail, Reason: "OrderFailed", Message: "unauthorized: wrong TXT value"},
		},
	}
	for _, status := range []string{StatusInvalid, StatusDeactivated, StatusExpired, StatusRevoked} {
		tests["pending order with an authorization "+status+": fail"] = testCase{
			order: Order{Status: StatusPending, Authorizations: []Authorization{
				answerable(pendingAuthz("a.example")),
				{Name: "b.example", Status: status, Problem: "b.example: " + status},
			}},
			want: Step{Action: ActionFail, Reason: "OrderFailed", Message: "b.example: " + status},
		}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := tc.limits
			if l == (Limits{}) && !tc.noLimits {
				l = limits
			}
			if diff := cmp.Diff(tc.want, NextStep(tc.order, l)); diff != "" {
				t.Errorf("NextStep (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelfCheckRetryDelay(t *testing.T) {
	want := map[int]time.Duration{0: 0, 1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 16 * time.Second, 6: 30 * time.Second, 7: 30 * time.Second, 1000: 30 * time.Second}
	got := map[int]time.Duration{}
	for n := range want {
		got[n] = SelfCheckRetryDelay(n)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SelfCheckRetryDelay (-want +got):\n%s", diff)
	}
}

// Driving an order to the end with NextStep, acting as the reconciler
// would, takes the path of a real DNS-01 order: choose, present, accept,
// wait, finalize, store.
func TestNextStepDrivesAnOrderToTheEnd(t *testing.T) {
	o := Order{Status: StatusPending, Authorizations: []Authorization{{Name: "a.example", Status: StatusPending}}}
	var path []Action
	for range 10 {
		step := NextStep(o, Limits{MaxAge: time.Hour})
		path = append(path, step.Action)
		a := &o.Authorizations[0]
		switch step.Action {
		case ActionChoose:
			a.Chosen, a.DNS01, a.ChallengeStatus = true, true, StatusPending
		case ActionPresent:
			a.Answerable = true
		case ActionAccept:
			a.ChallengeStatus = StatusProcessing
		case ActionWait:
			// The CA validates; the order becomes ready, then the key is
			// there.
			a.Status, a.ChallengeStatus = StatusValid, StatusValid
			o.Status, o.KeyAvailable = StatusReady, true
		case ActionFinalize:
			o.Status = StatusValid
		}
		if step.Action == ActionStore {
			break
		}
	}
	want := []Action{ActionChoose, ActionPresent, ActionAccept, ActionWait, ActionFinalize, ActionStore}
	if diff := cmp.Diff(want, path); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
}
