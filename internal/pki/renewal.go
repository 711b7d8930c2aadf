package pki

import (
	"time"
)

// shortLifetime is the lifetime under which half, not a third, of it must
// remain at renewal: short-lived certificates (Let's Encrypt's `shortlived`
// profile, 6 days) need more room for a failed attempt or two.
const shortLifetime = 10 * 24 * time.Hour

// RenewalTime is when a certificate valid from notBefore to notAfter is due
// for renewal: renewBefore ahead of expiry when it is set and shorter than
// the lifetime, else when a third of the lifetime remains (half when the
// lifetime is under 10 days). Truncated to the second, since that is the
// precision status and requeues keep.
func RenewalTime(notBefore, notAfter time.Time, renewBefore time.Duration) time.Time {
	lifetime := notAfter.Sub(notBefore)
	var before time.Duration
	switch {
	case renewBefore > 0 && renewBefore < lifetime:
		before = renewBefore
	case lifetime < shortLifetime:
		before = lifetime / 2
	default:
		before = lifetime / 3
	}
	return notAfter.Add(-before).Truncate(time.Second)
}

// ARIRenewalTime picks the renewal time inside a window the CA suggested
// through ACME Renewal Information (RFC 9773). The RFC asks clients to pick
// a uniformly random time in the window, so that a CA's clients spread out;
// pick is a number in [0,1) (injected so tests are deterministic). A window
// that has already closed means "now".
func ARIRenewalTime(start, end, now time.Time, pick float64) time.Time {
	if !end.After(now) {
		return now.Truncate(time.Second)
	}
	if start.Before(now) {
		start = now
	}
	if !end.After(start) {
		return start.Truncate(time.Second)
	}
	offset := time.Duration(pick * float64(end.Sub(start)))
	return start.Add(offset).Truncate(time.Second)
}
