// Package issuance holds the rules that decide a Certificate's life: whether
// it needs a new certificate and why, which solver answers each host, and
// how long to wait between attempts and polls. Every function is pure: the
// caller gathers the facts (spec, Secret, clock) and acts on the answer.
package issuance

import (
	"fmt"
	"slices"
	"strings"
	"time"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/pki"
)

// Facts are what the reconciler read before deciding.
type Facts struct {
	Spec edgecertv1alpha1.CertificateSpec
	// KeyPair is the Secret's parsed content; nil when the Secret is
	// missing or does not parse.
	KeyPair *pki.KeyPair
	// SecretProblem says why KeyPair is nil (missing, unparsable).
	SecretProblem string
	// IssuedBy is the issuer the Secret says issued its certificate (its
	// edgecert.dev/issuer-name and -kind annotations); empty when unknown.
	IssuedBy edgecertv1alpha1.IssuerReference
	// RenewalTime is when the current certificate is due (from ARI or the
	// lifetime rule); zero when unknown.
	RenewalTime time.Time
	// RenewRequested is an edgecert.dev/renew-requested-at value no order
	// has answered yet; empty when there is none.
	RenewRequested string
	Now            time.Time
}

// Decision is whether to issue and why.
type Decision struct {
	Issue bool
	// Reason is a Certificate reason constant; Message explains it.
	Reason  string
	Message string
}

// Decide runs the checks in order; the first that finds a need wins.
func Decide(f Facts) Decision {
	if f.KeyPair == nil {
		if f.SecretProblem == "" {
			return Decision{true, edgecertv1alpha1.ReasonDoesNotExist, fmt.Sprintf("Secret %q does not exist", f.Spec.SecretName)}
		}
		return Decision{true, edgecertv1alpha1.ReasonSecretMismatch, f.SecretProblem}
	}
	if want, have := NormalizeHosts(f.Spec.DNSNames), pki.Hosts(f.KeyPair.Leaf); !slices.Equal(want, have) {
		return Decision{true, edgecertv1alpha1.ReasonSpecChanged, fmt.Sprintf("certificate is for %s, spec asks for %s", strings.Join(have, ", "), strings.Join(want, ", "))}
	}
	if spec := KeySpec(f.Spec.PrivateKey); !pki.KeyMatchesSpec(f.KeyPair.Key, spec) {
		norm, _ := spec.Normalize()
		return Decision{true, edgecertv1alpha1.ReasonSpecChanged, fmt.Sprintf("private key is not %s %d", norm.Algorithm, norm.Size)}
	}
	if by, want := f.IssuedBy, f.Spec.IssuerRef; by.Name != "" && (by.Name != want.Name || by.Kind != want.KindOrDefault()) {
		return Decision{true, edgecertv1alpha1.ReasonSpecChanged, fmt.Sprintf("certificate was issued by %s %q, spec asks for %s %q", by.Kind, by.Name, want.KindOrDefault(), want.Name)}
	}
	// Not yet valid is no reason to re-issue: a CA's clock a little ahead of
	// ours would otherwise make every fresh certificate look bad.
	if !f.Now.Before(f.KeyPair.Leaf.NotAfter) {
		return Decision{true, edgecertv1alpha1.ReasonRenewing, "certificate has expired"}
	}
	if !f.RenewalTime.IsZero() && !f.Now.Before(f.RenewalTime) {
		return Decision{true, edgecertv1alpha1.ReasonRenewing, fmt.Sprintf("renewal time %s has come", f.RenewalTime.UTC().Format(time.RFC3339))}
	}
	if f.RenewRequested != "" {
		return Decision{true, edgecertv1alpha1.ReasonRenewing, fmt.Sprintf("renewal requested (%s: %s)", edgecertv1alpha1.RenewRequestedAtAnnotation, f.RenewRequested)}
	}
	return Decision{Issue: false, Reason: edgecertv1alpha1.ReasonIssued, Message: "certificate is up to date"}
}

// NormalizeHosts lower-cases, sorts and de-duplicates hosts, the form
// pki.Hosts returns, so the two compare.
func NormalizeHosts(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, strings.ToLower(strings.TrimSuffix(h, ".")))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// KeySpec turns the API's private key settings into a pki.KeySpec.
func KeySpec(p *edgecertv1alpha1.PrivateKeySpec) pki.KeySpec {
	if p == nil {
		return pki.KeySpec{}
	}
	return pki.KeySpec{Algorithm: pki.KeyAlgorithm(p.Algorithm), Size: p.Size}
}

// RotateKey reports whether a new issuance needs a new private key.
func RotateKey(p *edgecertv1alpha1.PrivateKeySpec) bool {
	return p == nil || p.RotationPolicy != "Never"
}

// Backoff is the wait after the n-th consecutive failed attempt (n >= 1):
// 5 minutes doubling up to 32 hours, so a broken setup does not hammer the
// CA and its rate limits.
func Backoff(n int) time.Duration {
	if n < 1 {
		return 0
	}
	d := 5 * time.Minute
	for i := 1; i < n && d < 32*time.Hour; i++ {
		d *= 2
	}
	return min(d, 32*time.Hour)
}

// PollDelay is how long to wait before looking at an order in flight again:
// fast at first (Pebble and Let's Encrypt usually answer in well under a
// second), slower as the order ages, never faster than the CA asked.
func PollDelay(orderAge, retryAfter time.Duration) time.Duration {
	var d time.Duration
	switch {
	case orderAge < 2*time.Second:
		d = 20 * time.Millisecond
	case orderAge < 30*time.Second:
		d = 500 * time.Millisecond
	case orderAge < 5*time.Minute:
		d = 5 * time.Second
	default:
		d = 30 * time.Second
	}
	return max(d, retryAfter)
}
