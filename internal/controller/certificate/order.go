package certificate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/acme"
	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/metrics"
	"github.com/edgecert/edgecert/internal/pki"
)

// dnsNotAuthorizedRecheck is how often a Certificate whose DNS provider
// refused the change tries again: the credentials live in a Secret edgecert
// does not watch.
const dnsNotAuthorizedRecheck = 5 * time.Minute

// maxStepsPerPass bounds the steps one pass takes on an order; a healthy
// order needs at most choose, present, accept, then waits.
const maxStepsPerPass = 8

// advanceOrder creates an order when none is in flight, then drives the
// order in flight with issuance.NextStep until the answer is to wait or the
// order has ended. It holds one of the issuer's slots while it talks to
// the CA and DNS. Sets Issuing, Reconciling (waiting, with what for) and,
// when the order ends, Ready.
func (r *Reconciler) advanceOrder(ctx context.Context, s *scope) error {
	if !r.acquire(s) {
		return nil
	}
	var fresh *acme.Order
	if s.cert.Status.Order == nil {
		order, err := r.startOrder(ctx, s)
		if err != nil || s.done {
			return err
		}
		fresh = &order
	}
	return r.driveOrder(ctx, s, fresh)
}

// startOrder creates the order (or takes over one a crashed controller
// created and did not record, see orphanPool), records it in status with
// its key before anything else can fail, and returns it for driveOrder to
// drive in the same pass.
func (r *Reconciler) startOrder(ctx context.Context, s *scope) (acme.Order, error) {
	if ok, err := r.checkNoForeignSecret(ctx, s); err != nil || !ok {
		return acme.Order{}, err
	}
	if err := r.decideFromAPI(ctx, s); err != nil || s.done {
		return acme.Order{}, err
	}
	// The pass reads a copy at least as new as this process's last write
	// (cacheBehind), and only the leader writes orders: an order recorded
	// by an earlier pass is in this copy, so none is duplicated.
	hosts := issuance.NormalizeHosts(s.cert.Spec.DNSNames)
	replaces := r.replaces(s)
	order, adopted, err := r.orphans.take(ctx, s.iss, hosts, func(url string) (bool, error) { return r.recorded(ctx, url) })
	if err != nil {
		return order, fmt.Errorf("look for unrecorded orders: %w", err)
	}
	if !adopted {
		order, err = s.iss.client.NewOrder(ctx, s.iss.account, hosts, s.iss.obj.GetSpec().ACME.Profile, replaces)
		if err != nil {
			reason := edgecertv1alpha1.ReasonOrderFailed
			if replaces != "" {
				reason = edgecertv1alpha1.ReasonReplacesRejected
			}
			return order, r.acmeFailed(ctx, s, reason, err)
		}
		r.orphans.created(s.iss, order.URL)
	} else {
		replaces = ""
		s.adopted = true
		ctrl.LoggerFrom(ctx).Info("Taking over an order a previous controller created and did not record", "order", order.URL)
	}
	s.cert.Status.Order = &edgecertv1alpha1.OrderStatus{URL: order.URL, DNSNames: hosts, Replaces: replaces, Created: metav1.NewTime(s.now)}
	// The order answers a pending request to renew, in the same status
	// write that records it.
	answerRenewRequest(s.cert)
	s.createdOrder = order.URL
	r.stepTaken(s)
	return order, r.newOrderKey(s)
}

// replaces is the ARI identifier a renewal order names: the current
// certificate's, when the CA gave it a renewal window and did not refuse
// such an order last time.
func (r *Reconciler) replaces(s *scope) string {
	st := s.cert.Status
	if s.current == nil || st.RenewalInfo == nil || st.LastFailureReason == edgecertv1alpha1.ReasonReplacesRejected {
		return ""
	}
	id, err := acme.ARIIdentifier(s.current.Leaf)
	if err != nil {
		return ""
	}
	return id
}

// driveOrder reads the order (unless the CA just sent it: fresh) and,
// while it is pending, its authorizations from the CA, and runs the steps
// issuance.NextStep gives.
func (r *Reconciler) driveOrder(ctx context.Context, s *scope, fresh *acme.Order) error {
	st := s.cert.Status.Order
	var order acme.Order
	var err error
	if fresh != nil {
		order = *fresh
	} else {
		if order, err = s.iss.client.GetOrder(ctx, s.iss.account, st.URL); err != nil {
			return r.acmeFailed(ctx, s, edgecertv1alpha1.ReasonOrderFailed, err)
		}
	}
	// An order the CA let expire is invalid at the CA: its own clock
	// decides, not this one.
	o := issuance.Order{Status: order.Status, Age: s.now.Sub(st.Created.Time), SinceLastStep: r.sinceLastStep(s)}
	if order.Error != nil {
		o.Problem = acme.ErrorMessage(order.Error)
	}
	var authzs []acme.Authorization
	switch {
	case order.Status == issuance.StatusPending && !s.adopted && r.allAccepted(s, order):
		// Every challenge was answered and handed to the CA by this
		// process: until the order moves, the authorizations can only say
		// that the CA is at work, so they are not read again.
		o.Authorizations = r.acceptedAuthorizations(s, order)
	case order.Status == issuance.StatusPending || order.Status == issuance.StatusInvalid || s.adopted:
		if authzs, o.Authorizations, err = r.authorizations(ctx, s, order); err != nil {
			return r.acmeFailed(ctx, s, edgecertv1alpha1.ReasonOrderFailed, err)
		}
	}
	if s.adopted {
		r.recordAdoptedChallenges(ctx, s, authzs, o.Authorizations)
	}
	switch order.Status {
	case issuance.StatusReady:
		key, err := r.orderKey(ctx, s)
		if err != nil {
			return err
		}
		o.KeyAvailable = key != nil
	case issuance.StatusValid:
		o.Stored = r.isStored(s)
	}
	limits := orderLimits(withDefault(r.MaxOrderAge, issuance.DefaultMaxOrderAge), s.routesThroughIstio())
	for range maxStepsPerPass {
		step := issuance.NextStep(o, limits)
		switch step.Action {
		case issuance.ActionChoose:
			for _, i := range step.Authorizations {
				if err := r.choose(ctx, s, authzs[i], &o.Authorizations[i]); err != nil || s.done {
					return err
				}
			}
		case issuance.ActionPresent:
			for _, i := range step.Authorizations {
				if err := r.present(ctx, s, s.challenge(authzs[i].URL), &o.Authorizations[i]); err != nil || s.done {
					return err
				}
			}
			r.runSelfChecks(ctx, s)
		case issuance.ActionAccept:
			for _, i := range step.Authorizations {
				ch := s.challenge(authzs[i].URL)
				if err := s.iss.client.Accept(ctx, s.iss.account, ch.URL); err != nil {
					return r.acmeFailed(ctx, s, edgecertv1alpha1.ReasonOrderFailed, err)
				}
				o.Authorizations[i].ChallengeStatus = issuance.StatusProcessing
				r.accepted.Store(ch.URL, struct{}{})
			}
			r.stepTaken(s)
			o.SinceLastStep = 0
		case issuance.ActionWait:
			if step.Reason != edgecertv1alpha1.ReasonProgressing {
				// Ordinary progress keeps one message per order, so that
				// the fast steps of an order write status once.
				s.facts.wait(step.Reason, step.Message)
			}
			s.requeue(step.Wait)
			return nil
		case issuance.ActionNewKey:
			// The key must be recorded before a CSR is sent with it.
			s.requeue(issuance.PollDelay(0, 0))
			return r.newOrderKey(s)
		case issuance.ActionFinalize:
			if order, err = r.finalizeOrder(ctx, s, order); err != nil || s.done {
				return err
			}
			o.Status = order.Status
			r.stepTaken(s)
			o.SinceLastStep = 0
		case issuance.ActionStore:
			return r.store(ctx, s, order)
		case issuance.ActionComplete:
			if s.current == nil {
				// This process stored it and its cache has not seen the
				// Secret yet; the Secret's watch event brings the pass back.
				s.requeue(kube.ConflictRequeue().RequeueAfter)
				s.keepStatus = true
				return nil
			}
			return r.complete(ctx, s, s.current)
		case issuance.ActionFail, issuance.ActionAbandon:
			return r.orderEnded(ctx, s, step.Reason, step.Message)
		}
	}
	s.requeue(issuance.PollDelay(o.SinceLastStep, 0))
	return nil
}

// stepTaken notes that the pass acted on the order in flight, for the poll
// pace (issuance.Order.SinceLastStep). Status keeps the order's creation
// to the second only, too coarse for polls of 20 ms, so this is kept in
// memory; a restarted controller polls at the pace the order's age gives.
func (r *Reconciler) stepTaken(s *scope) {
	r.lastStep.Store(s.cert.Status.Order.URL, s.now)
}

func (r *Reconciler) sinceLastStep(s *scope) time.Duration {
	if t, ok := r.lastStep.Load(s.cert.Status.Order.URL); ok {
		return s.now.Sub(t.(time.Time))
	}
	return s.now.Sub(s.cert.Status.Order.Created.Time)
}

// allAccepted reports whether this process told the CA to validate the
// recorded challenge of every authorization of a pending order: reading
// the authorizations again would only say the CA is at work.
func (r *Reconciler) allAccepted(s *scope, order acme.Order) bool {
	for _, u := range order.Authorizations {
		ch := s.challenge(u)
		if ch == nil {
			return false
		}
		if _, ok := r.accepted.Load(ch.URL); !ok {
			return false
		}
	}
	return len(order.Authorizations) > 0
}

// acceptedAuthorizations describes the authorizations of an order whose
// every challenge this process handed to the CA: pending, their challenge
// being validated.
func (r *Reconciler) acceptedAuthorizations(s *scope, order acme.Order) []issuance.Authorization {
	out := make([]issuance.Authorization, 0, len(order.Authorizations))
	for _, u := range order.Authorizations {
		ch := s.challenge(u)
		name := ch.DNSName
		if ch.Wildcard {
			name = "*." + name
		}
		out = append(out, issuance.Authorization{Name: name, Status: issuance.StatusPending, Chosen: true, DNS01: ch.Type == issuance.DNS01, ChallengeStatus: issuance.StatusProcessing})
	}
	return out
}

// challenge returns the recorded challenge of an authorization.
func (s *scope) challenge(authzURL string) *edgecertv1alpha1.ChallengeStatus {
	for i := range s.cert.Status.Order.Challenges {
		if ch := &s.cert.Status.Order.Challenges[i]; ch.AuthorizationURL == authzURL {
			return ch
		}
	}
	return nil
}

// authorizations reads the order's authorizations and what NextStep needs
// to know of each.
func (r *Reconciler) authorizations(ctx context.Context, s *scope, order acme.Order) ([]acme.Authorization, []issuance.Authorization, error) {
	authzs := make([]acme.Authorization, 0, len(order.Authorizations))
	facts := make([]issuance.Authorization, 0, len(order.Authorizations))
	for _, u := range order.Authorizations {
		a, err := s.iss.client.GetAuthorization(ctx, s.iss.account, u)
		if err != nil {
			return nil, nil, err
		}
		name := a.DNSName
		if a.Wildcard {
			name = "*." + name
		}
		f := issuance.Authorization{Name: name, Status: a.Status}
		if ch := s.challenge(u); ch != nil {
			f.Chosen, f.DNS01 = true, ch.Type == issuance.DNS01
			for _, c := range a.Challenges {
				if c.URL == ch.URL {
					f.ChallengeStatus = c.Status
				}
			}
		}
		for _, c := range a.Challenges {
			if c.Error != nil {
				f.Problem = acme.ErrorMessage(c.Error)
			}
		}
		authzs, facts = append(authzs, a), append(facts, f)
	}
	return authzs, facts, nil
}

// recordAdoptedChallenges records, for an order taken over from a crashed
// controller, the challenge edgecert would answer for each authorization the
// CA already validated: that controller may have published its TXT record
// or route, and only what status names is removed when the order ends.
// What cannot be worked out is left out; it never stops the order.
func (r *Reconciler) recordAdoptedChallenges(ctx context.Context, s *scope, authzs []acme.Authorization, facts []issuance.Authorization) {
	for i := range facts {
		if facts[i].Chosen || facts[i].Status == issuance.StatusPending {
			continue
		}
		if ch, err := r.challengeFor(ctx, s, authzs[i], facts[i].Name); err == nil && ch != nil {
			s.cert.Status.Order.Challenges = append(s.cert.Status.Order.Challenges, *ch)
			facts[i].Chosen, facts[i].DNS01 = true, ch.Type == issuance.DNS01
		}
	}
}

// choose picks the challenge of the solver that serves an authorization's
// host, works out where it is answered, and records it in status.
func (r *Reconciler) choose(ctx context.Context, s *scope, authz acme.Authorization, f *issuance.Authorization) error {
	ch, err := r.challengeFor(ctx, s, authz, f.Name)
	var terminal terminalChoice
	switch {
	case errors.As(err, &terminal):
		s.facts.block(edgecertv1alpha1.ReasonInvalidSpec, terminal.Error(), true)
		s.stop()
		return nil
	case err != nil || s.done:
		return err
	}
	s.cert.Status.Order.Challenges = append(s.cert.Status.Order.Challenges, *ch)
	f.Chosen, f.DNS01 = true, ch.Type == issuance.DNS01
	for _, c := range authz.Challenges {
		if c.URL == ch.URL {
			f.ChallengeStatus = c.Status
		}
	}
	return nil
}

// terminalChoice is a challenge that cannot be chosen until a person acts.
type terminalChoice struct{ error }

// challengeFor works out the challenge of the solver that serves an
// authorization's host, and where it is answered.
func (r *Reconciler) challengeFor(ctx context.Context, s *scope, authz acme.Authorization, name string) (*edgecertv1alpha1.ChallengeStatus, error) {
	idx, typ, err := issuance.SelectSolver(s.iss.obj.GetSpec().ACME.Solvers, name, s.cert.Labels)
	if err != nil {
		return nil, terminalChoice{err}
	}
	var offered *acme.Challenge
	for i := range authz.Challenges {
		if authz.Challenges[i].Type == typ {
			offered = &authz.Challenges[i]
		}
	}
	if offered == nil {
		return nil, terminalChoice{fmt.Errorf("the CA offers no %s challenge for %s", typ, name)}
	}
	ch := &edgecertv1alpha1.ChallengeStatus{DNSName: authz.DNSName, Wildcard: authz.Wildcard, Type: typ, URL: offered.URL, AuthorizationURL: authz.URL, Token: offered.Token, Solver: idx}
	if typ == issuance.HTTP01 {
		ch.KeyAuthorization = offered.KeyAuthorization
		return ch, nil
	}
	ch.DNS01Value = offered.DNS01Value
	solver, err := r.dnsSolver(ctx, s.iss, idx, false)
	if errors.Is(err, reconcile.TerminalError(nil)) {
		return nil, terminalChoice{errors.New(kube.TerminalMessage(err))}
	}
	if err != nil {
		return nil, err
	}
	dctx, cancel := r.dnsContext(ctx)
	target, err := solver.resolver.ChallengeTarget(dctx, authz.DNSName)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("find where the TXT record of %s goes: %w", name, err)
	}
	ch.RecordName, ch.Zone = target.FQDN, target.Zone
	return ch, nil
}

// present makes a chosen challenge answerable, or says what it waits for.
// An HTTP-01 answer is served from status, so it is answerable once the
// status that records it was written (a pass later), and, through Istio,
// once its route has had time to reach the gateway. A DNS-01 record must be
// served by the zone's authoritative servers.
func (r *Reconciler) present(ctx context.Context, s *scope, ch *edgecertv1alpha1.ChallengeStatus, f *issuance.Authorization) error {
	if ch.Type == issuance.HTTP01 {
		if s.createdInThisPass(ch.URL) {
			f.Waiting = fmt.Sprintf("the HTTP-01 answer for %s to be recorded", f.Name)
			return nil
		}
		spec := istioRoute(s.iss, *ch)
		if spec == nil {
			r.answerInPlace(s, ch, f)
			return nil
		}
		wait, err := r.presentIstioRoute(ctx, s, ch.Solver, spec)
		if err != nil {
			if errors.Is(err, reconcile.TerminalError(nil)) {
				s.facts.block(edgecertv1alpha1.ReasonChallengeRouteFailed, kube.TerminalMessage(err), true)
				s.requeue(foreignSecretRecheck)
				s.stop()
				return nil
			}
			return err
		}
		if wait > 0 {
			f.Waiting = fmt.Sprintf("the HTTP-01 route for %s to reach the gateway", f.Name)
			return nil
		}
		r.answerInPlace(s, ch, f)
		return nil
	}
	solver, err := r.solverFor(ctx, s, ch.Solver)
	if err != nil || s.done {
		return err
	}
	dctx, cancel := r.dnsContext(ctx)
	defer cancel()
	if _, done := r.presented.Load(ch.URL); !done {
		if err := solver.provider.Present(dctx, ch.Zone, ch.RecordName, ch.DNS01Value); err != nil {
			if errors.Is(err, edgedns.ErrNotAuthorized) {
				s.facts.block(edgecertv1alpha1.ReasonDNSNotAuthorized, err.Error(), true)
				s.requeue(dnsNotAuthorizedRecheck)
				s.stop()
				return nil
			}
			return err
		}
		r.presented.Store(ch.URL, struct{}{})
	}
	visible, err := solver.resolver.CheckPropagation(dctx, ch.RecordName, ch.DNS01Value)
	if err != nil {
		return fmt.Errorf("check TXT %s: %w", ch.RecordName, err)
	}
	if !visible {
		f.Waiting = fmt.Sprintf("TXT record %s (zone %s) to be served by every authoritative server", ch.RecordName, ch.Zone)
		return nil
	}
	f.Answerable = true
	return nil
}

// createdInThisPass reports whether the challenge was chosen by this pass,
// so that its answer is not in the status other replicas read yet.
func (s *scope) createdInThisPass(challengeURL string) bool {
	if s.before.Order == nil {
		return true
	}
	for _, ch := range s.before.Order.Challenges {
		if ch.URL == challengeURL {
			return false
		}
	}
	return true
}

// finalizeOrder sends the CSR made with the order's key.
func (r *Reconciler) finalizeOrder(ctx context.Context, s *scope, order acme.Order) (acme.Order, error) {
	key, err := r.orderKey(ctx, s)
	if err != nil {
		return order, err
	}
	if key == nil {
		return order, errors.New("the order's private key can no longer be read")
	}
	csr, err := pki.CreateCSR(key, s.cert.Status.Order.DNSNames)
	if err != nil {
		return order, err
	}
	finalized, err := s.iss.client.Finalize(ctx, s.iss.account, order, csr)
	if err != nil {
		return order, r.acmeFailed(ctx, s, edgecertv1alpha1.ReasonOrderFailed, err)
	}
	return finalized, nil
}

// store downloads the chain, checks it against the order's key, writes the
// Secret whole and records the issuance.
func (r *Reconciler) store(ctx context.Context, s *scope, order acme.Order) error {
	key, err := r.orderKey(ctx, s)
	if err != nil {
		return err
	}
	if key == nil {
		return r.orderEnded(ctx, s, edgecertv1alpha1.ReasonOrderAbandoned, "the private key of the finished order can no longer be read")
	}
	chain, err := s.iss.client.FetchChain(ctx, s.iss.account, order.Certificate)
	if err != nil {
		return r.acmeFailed(ctx, s, edgecertv1alpha1.ReasonOrderFailed, err)
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return err
	}
	kp, err := pki.ParseKeyPair(chain, keyPEM)
	if err != nil {
		return r.orderEnded(ctx, s, edgecertv1alpha1.ReasonOrderFailed, fmt.Sprintf("the CA's certificate does not match the order's key: %v", err))
	}
	if err := r.applySecret(ctx, s, chain, keyPEM); err != nil || s.done {
		return err
	}
	return r.complete(ctx, s, kp)
}

// complete records an issuance whose certificate is in the Secret: removes
// the order's records and routes, asks the CA for the renewal window, and
// sets Ready with one Issued (or Renewed) event.
func (r *Reconciler) complete(ctx context.Context, s *scope, kp *pki.KeyPair) error {
	r.cleanUpAfter(ctx, s)
	if err := r.removeLegacyKeySecret(ctx, s.cert, kp.Key); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Remove the key Secret of an older edgecert")
	}
	st := &s.cert.Status
	metrics.IssuanceDuration.WithLabelValues(s.iss.kind, "issued").Observe(s.now.Sub(st.Order.Created.Time).Seconds())
	verb := "Issued"
	if st.Revision > 0 {
		verb = "Renewed"
	}
	st.Order = nil
	st.Revision++
	st.FailedIssuanceAttempts, st.LastFailureTime, st.LastFailureReason = 0, nil, ""
	s.current, s.facts.current = kp, kp
	s.facts.decision = &issuance.Decision{Reason: edgecertv1alpha1.ReasonIssued}
	s.facts.currentValid = true
	s.facts.renewal = r.renewalAfterIssuance(ctx, s, kp)
	s.event(corev1.EventTypeNormal, edgecertv1alpha1.ReasonIssued, "Issue", fmt.Sprintf("%s certificate for %s, valid until %s", verb, strings.Join(pki.Hosts(kp.Leaf), ", "), kp.Leaf.NotAfter.UTC().Format(time.RFC3339)))
	s.requeue(s.facts.renewal.Sub(s.now))
	s.stop()
	return nil
}

// orderEnded gives up the order in flight (the CA failed it, or it is
// abandoned), removes its records and routes, counts a failed attempt and
// backs off exponentially.
func (r *Reconciler) orderEnded(ctx context.Context, s *scope, reason, msg string) error {
	st := &s.cert.Status
	if st.Order != nil {
		r.cleanUpAfter(ctx, s)
		metrics.IssuanceDuration.WithLabelValues(s.iss.kind, "failed").Observe(s.now.Sub(st.Order.Created.Time).Seconds())
	}
	st.Order = nil
	st.FailedIssuanceAttempts++
	now := metav1.NewTime(s.now)
	st.LastFailureTime, st.LastFailureReason = &now, reason
	s.facts.fail(reason, msg)
	wait := issuance.Backoff(st.FailedIssuanceAttempts)
	s.event(corev1.EventTypeWarning, reason, "Issue", fmt.Sprintf("Issuance failed (attempt %d, next in %s): %s", st.FailedIssuanceAttempts, wait, msg))
	s.requeue(wait)
	s.stop()
	return nil
}

// acmeFailed handles an error from the CA: transient ones go back to the
// workqueue (and show in Reconciling); rate limits wait as the CA asked;
// anything else ends the attempt with reason.
func (r *Reconciler) acmeFailed(ctx context.Context, s *scope, reason string, err error) error {
	c := acme.Classify(err)
	switch c.Class {
	case acme.Transient:
		return fmt.Errorf("ACME: %s", c.Message)
	case acme.RateLimited:
		s.facts.rateLimit(c.Message)
		s.requeue(c.RetryAfter)
		s.stop()
		return nil
	}
	return r.orderEnded(ctx, s, reason, c.Message)
}

// cleanUpAfter removes the records and routes of an order that ended; what
// cannot be removed is named in a warning event (the order is gone from
// status afterwards, so nothing would retry).
func (r *Reconciler) cleanUpAfter(ctx context.Context, s *scope) {
	if err := r.cleanUpOrder(ctx, s); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Clean up after the order")
		s.event(corev1.EventTypeWarning, edgecertv1alpha1.ReasonCleanUpFailed, "CleanUp", err.Error())
	}
}

// cleanUpOrder removes every TXT record and Istio route of the order in
// flight and returns what failed.
func (r *Reconciler) cleanUpOrder(ctx context.Context, s *scope) error {
	order := s.cert.Status.Order
	if order == nil {
		return nil
	}
	r.lastStep.Delete(order.URL)
	errs := r.removeIstioRoutes(ctx, s)
	for _, ch := range order.Challenges {
		r.presented.Delete(ch.URL)
		r.accepted.Delete(ch.URL)
		r.selfCheckFailures.Delete(ch.URL)
		if ch.Type != issuance.DNS01 {
			continue
		}
		solver, err := r.dnsSolver(ctx, s.iss, ch.Solver, false)
		if err == nil {
			dctx, cancel := r.dnsContext(ctx)
			err = solver.provider.CleanUp(dctx, ch.Zone, ch.RecordName, ch.DNS01Value)
			cancel()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remove TXT record %s: %w", ch.RecordName, err))
		}
	}
	return errors.Join(errs...)
}

func (r *Reconciler) dnsContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, withDefault(r.DNSTimeout, DefaultDNSTimeout))
}
