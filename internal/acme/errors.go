package acme

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	acmez "github.com/mholt/acmez/v3/acme"
)

// Class says what a caller should do about an ACME error.
type Class string

// The error classes.
const (
	// Transient: retry soon with backoff (network, CA 5xx, badNonce left
	// over after acmez's own retries).
	Transient Class = "transient"
	// RateLimited: the CA asked to wait; retry after RetryAfter.
	RateLimited Class = "rate_limited"
	// Terminal: the request is wrong or was refused; retrying the same
	// thing soon will not help (invalid order, unauthorized, rejected
	// identifier, bad CSR).
	Terminal Class = "terminal"
)

// defaultRateLimitWait is used when a rateLimited problem carries no time.
const defaultRateLimitWait = time.Hour

// Classified is an ACME error with its class and, for rate limits, when to
// come back.
type Classified struct {
	Class      Class
	RetryAfter time.Duration
	// Message is the CA's problem text, stable (no request ids), for a
	// condition message.
	Message string
}

// Classify sorts an error from this package into a Class.
func Classify(err error) Classified {
	if err == nil {
		return Classified{}
	}
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		return Classified{Class: RateLimited, RetryAfter: rl.RetryAfter, Message: ErrorMessage(err)}
	}
	var p acmez.Problem
	if errors.As(err, &p) {
		msg := ProblemMessage(p)
		switch p.Type {
		case acmez.ProblemTypeRateLimited:
			return Classified{Class: RateLimited, RetryAfter: defaultRateLimitWait, Message: msg}
		case acmez.ProblemTypeBadNonce, acmez.ProblemTypeServerInternal:
			return Classified{Class: Transient, Message: msg}
		}
		if p.Status == 429 {
			return Classified{Class: RateLimited, RetryAfter: defaultRateLimitWait, Message: msg}
		}
		if p.Status >= 500 {
			return Classified{Class: Transient, Message: msg}
		}
		return Classified{Class: Terminal, Message: msg}
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return Classified{Class: Transient, Message: err.Error()}
	}
	return Classified{Class: Transient, Message: err.Error()}
}

// ProblemMessage renders an ACME problem document for a condition message:
// its type (without the URN prefix), detail and subproblems.
func ProblemMessage(p acmez.Problem) string {
	var b strings.Builder
	b.WriteString(strings.TrimPrefix(p.Type, acmez.ProblemTypeNamespace))
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	for _, sp := range p.Subproblems {
		b.WriteString("; ")
		if sp.Identifier.Value != "" {
			b.WriteString(sp.Identifier.Value)
			b.WriteString(": ")
		}
		b.WriteString(strings.TrimPrefix(sp.Type, acmez.ProblemTypeNamespace))
		if sp.Detail != "" {
			b.WriteString(": ")
			b.WriteString(sp.Detail)
		}
	}
	return b.String()
}

// ErrorMessage is the stable text of any error from this package: the
// CA's problem when there is one.
func ErrorMessage(err error) string {
	var p acmez.Problem
	if errors.As(err, &p) {
		return ProblemMessage(p)
	}
	return err.Error()
}
