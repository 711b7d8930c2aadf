package acme

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	acmez "github.com/mholt/acmez/v3/acme"
)

// RateLimitedError is a CA's refusal for now (HTTP 429, rateLimited) with
// how long it asked clients to wait.
type RateLimitedError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *RateLimitedError) Error() string { return e.Err.Error() }
func (e *RateLimitedError) Unwrap() error { return e.Err }

// rateLimitTransport remembers the Retry-After of the CA's latest 429, which
// the ACME library does not pass on with its errors.
type rateLimitTransport struct {
	next http.RoundTripper

	mu    sync.Mutex
	until time.Time
}

func (t *rateLimitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if at, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			t.mu.Lock()
			t.until = at
			t.mu.Unlock()
		}
	}
	return resp, err
}

// annotate wraps a rate-limit problem in a RateLimitedError with the wait
// the CA asked for (defaultRateLimitWait when it did not say).
func (t *rateLimitTransport) annotate(err error) error {
	var p acmez.Problem
	if err == nil || !errors.As(err, &p) || (p.Type != acmez.ProblemTypeRateLimited && p.Status != http.StatusTooManyRequests) {
		return err
	}
	wait := defaultRateLimitWait
	t.mu.Lock()
	if d := time.Until(t.until); d > 0 {
		wait = d.Round(time.Second)
	}
	t.mu.Unlock()
	return &RateLimitedError{RetryAfter: wait, Err: err}
}

// parseRetryAfter reads a Retry-After value: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return now.Add(time.Duration(secs) * time.Second), true
	}
	if at, err := http.ParseTime(v); err == nil {
		return at, true
	}
	return time.Time{}, false
}
