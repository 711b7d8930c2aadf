package certificate

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/acme"
	"github.com/edgecert/edgecert/internal/pki"
)

// Waits before asking for a renewal window again when the CA offers none,
// or the last question failed.
const (
	noRenewalInfoRetry    = 24 * time.Hour
	renewalInfoErrorRetry = time.Hour
)

// renewalAfterIssuance asks the CA for the renewal window of a certificate
// just stored and returns its renewal time: a random time in the window
// (RFC 9773), or the lifetime rule (or renewBefore) when the CA gives none.
// The window goes into status and the next question is scheduled.
func (r *Reconciler) renewalAfterIssuance(ctx context.Context, s *scope, kp *pki.KeyPair) time.Time {
	s.cert.Status.RenewalInfo = nil
	w, err := s.iss.client.RenewalInfo(ctx, kp.Leaf)
	r.schedulePoll(s.cert, s.now, w, err)
	if err != nil {
		return r.lifetimeRenewal(s.cert, kp.Leaf)
	}
	s.cert.Status.RenewalInfo = windowStatus(w)
	return pki.ARIRenewalTime(w.Start, w.End, s.now, r.random())
}

// pollRenewalInfo asks the CA again for the renewal window of a
// certificate that needs nothing yet, when the CA's Retry-After says so,
// and moves the renewal time when the window moved (a CA moves it to make
// its subscribers renew early, before a mass revocation). The pass comes
// back at the renewal time or the next question, whichever is first.
func (r *Reconciler) pollRenewalInfo(ctx context.Context, s *scope) error {
	renewal := s.facts.renewal
	if renewal.IsZero() {
		renewal = r.lifetimeRenewal(s.cert, s.current.Leaf)
	}
	next, ok := r.nextPoll(s.cert)
	if !ok {
		// First sight of this certificate by this process: spread the
		// first questions over the usual interval rather than asking for
		// every certificate at start.
		next = s.now.Add(time.Duration(r.random() * float64(acme.DefaultRenewalInfoRetry)))
		r.ariPolls.Store(s.cert.UID, next)
	}
	if !s.now.Before(next) {
		if !r.acquire(s) {
			return nil
		}
		w, err := s.iss.client.RenewalInfo(ctx, s.current.Leaf)
		next = r.schedulePoll(s.cert, s.now, w, err)
		if err != nil && !errors.Is(err, acme.ErrNoRenewalInfo) {
			ctrl.LoggerFrom(ctx).V(1).Info("Ask the CA for the renewal window", "error", err.Error())
		}
		if err == nil && !sameWindow(s.cert.Status.RenewalInfo, w) {
			s.cert.Status.RenewalInfo = windowStatus(w)
			renewal = pki.ARIRenewalTime(w.Start, w.End, s.now, r.random())
			note := fmt.Sprintf("The CA suggests renewing between %s and %s; renewal moved to %s", w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339), renewal.UTC().Format(time.RFC3339))
			if w.ExplanationURL != "" {
				note += " (see " + w.ExplanationURL + ")"
			}
			s.event(corev1.EventTypeNormal, edgecertv1alpha1.ReasonRenewalWindowMoved, "Renew", note)
		}
	}
	s.facts.renewal = renewal
	s.requeue(min(renewal.Sub(s.now), next.Sub(s.now)))
	return nil
}

// schedulePoll records when to ask for the window again after an answer.
func (r *Reconciler) schedulePoll(cert *edgecertv1alpha1.Certificate, now time.Time, w acme.RenewalWindow, err error) time.Time {
	wait := w.RetryAfter
	switch {
	case errors.Is(err, acme.ErrNoRenewalInfo):
		wait = noRenewalInfoRetry
	case err != nil:
		wait = renewalInfoErrorRetry
	}
	next := now.Add(wait)
	r.ariPolls.Store(cert.UID, next)
	return next
}

func (r *Reconciler) nextPoll(cert *edgecertv1alpha1.Certificate) (time.Time, bool) {
	v, ok := r.ariPolls.Load(cert.UID)
	if !ok {
		return time.Time{}, false
	}
	return v.(time.Time), true
}

// lifetimeRenewal is the renewal time without a CA window.
func (r *Reconciler) lifetimeRenewal(cert *edgecertv1alpha1.Certificate, leaf *x509.Certificate) time.Time {
	var before time.Duration
	if cert.Spec.RenewBefore != nil {
		before = cert.Spec.RenewBefore.Duration
	}
	return pki.RenewalTime(leaf.NotBefore, leaf.NotAfter, before)
}

func windowStatus(w acme.RenewalWindow) *edgecertv1alpha1.RenewalInfoStatus {
	return &edgecertv1alpha1.RenewalInfoStatus{
		SuggestedWindowStart: metav1.NewTime(w.Start.Truncate(time.Second)),
		SuggestedWindowEnd:   metav1.NewTime(w.End.Truncate(time.Second)),
		ExplanationURL:       w.ExplanationURL,
	}
}

// sameWindow compares at the second, the precision status keeps.
func sameWindow(st *edgecertv1alpha1.RenewalInfoStatus, w acme.RenewalWindow) bool {
	return st != nil && st.SuggestedWindowStart.Time.Equal(w.Start.Truncate(time.Second)) && st.SuggestedWindowEnd.Time.Equal(w.End.Truncate(time.Second)) && st.ExplanationURL == w.ExplanationURL
}
