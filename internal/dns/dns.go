// Package dns publishes the TXT records of ACME DNS-01 challenges and checks
// that the authoritative name servers serve them before the CA is asked to
// validate.
//
// A Provider writes to one DNS service (RFC 2136, Route53, ...); every
// provider passes the conformance suite in package dnstest. The Resolver
// answers the questions around the write: which zone holds a name, where a
// CNAME on _acme-challenge delegates it to, and whether the record is visible
// yet. Nothing here blocks or sleeps waiting for DNS: each call does one step
// and the caller requeues.
//
// The package name clashes with github.com/miekg/dns; import it as edgedns.
// It has no Kubernetes imports.
package dns

import (
	"context"
	"errors"
	"strings"

	"github.com/edgecert/edgecert/internal/dns/registry"
)

// Provider publishes the TXT records of ACME DNS-01 challenges in one DNS
// service. Its methods follow the Crossplane contract for external systems:
// idempotent, so a reconcile that died half-way can simply run again, and
// non-blocking, so propagation is a requeue and never a sleep.
//
// All names are fully qualified, with a trailing dot.
type Provider interface {
	// Present adds value to the TXT RRset at fqdn in zone, keeping any other
	// values there (several orders may validate the same name at once, e.g.
	// example.com and *.example.com). Idempotent.
	Present(ctx context.Context, zone, fqdn, value string) error
	// CleanUp removes value from the TXT RRset at fqdn; other values stay. A
	// value already gone is success.
	CleanUp(ctx context.Context, zone, fqdn, value string) error
}

// ErrRetryable marks a failure that should go away by itself: throttling, a
// prior change still in progress, a timeout, a server failure. Callers test
// it with errors.Is and back off instead of reporting a terminal condition.
var ErrRetryable = errors.New("temporary DNS failure")

// ErrNotAuthorized marks a change the DNS service refused because the
// credentials may not change that zone (a wrong TSIG key or secret, missing
// IAM permissions). It needs a person: callers report it as a terminal
// condition rather than retrying forever.
var ErrNotAuthorized = errors.New("not authorized to change the zone")

// ChallengeLabel is the label ACME DNS-01 puts in front of the validated
// domain (RFC 8555, section 8.4).
const ChallengeLabel = "_acme-challenge"

// ChallengeFQDN is the fully qualified name whose TXT record validates
// domain: _acme-challenge.<domain>. A wildcard's "*." is stripped, because
// *.example.com and example.com validate at the same name. The result is
// lower case, since DNS names compare case-insensitively and some services
// (Route53) only ever return lower case.
func ChallengeFQDN(domain string) string {
	d := strings.ToLower(strings.TrimSpace(domain))
	d = strings.TrimPrefix(d, "*.")
	d = strings.TrimSuffix(d, ".")
	return ChallengeLabel + "." + d + "."
}

// Fqdn returns name lower-cased with exactly one trailing dot, the form
// every function in this package and its providers expects.
func Fqdn(name string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".") + "."
}

// wrapped is an error whose message is stable but which keeps both the
// sentinel and the original cause reachable with errors.Is and errors.As.
type wrapped struct {
	msg      string
	sentinel error
	cause    error
}

func (e *wrapped) Error() string { return e.msg }

func (e *wrapped) Unwrap() []error {
	var errs []error
	if e.sentinel != nil {
		errs = append(errs, e.sentinel)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// Wrap returns an error reading msg that matches sentinel (ErrRetryable,
// ErrNotAuthorized or nil) and cause with errors.Is and errors.As. Providers
// use it to replace causes whose text is unstable (SDK request IDs, local
// port numbers) with a stable message, so conditions do not change on every
// retry, while keeping the cause for code that inspects it.
func Wrap(msg string, sentinel, cause error) error {
	return &wrapped{msg: msg, sentinel: sentinel, cause: cause}
}

// Zone lists and changes the records of a zone, for publishing gateway
// hosts (the DNSZone controller). Both methods follow the same contract as
// Provider: no waiting, stable error messages, ErrRetryable and
// ErrNotAuthorized as the sentinels.
type Zone interface {
	// Records returns every RRset of zone (fully qualified), in the form
	// registry.Normalize gives them.
	Records(ctx context.Context, zone string) ([]registry.Record, error)
	// ApplyChanges applies changes in order, batched into as few requests
	// as the service allows. A Delete or an Update removes only the
	// values its Old record lists, so a value someone added since the list
	// survives.
	ApplyChanges(ctx context.Context, zone string, changes []registry.Change) error
}
