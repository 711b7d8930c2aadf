package acme

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	acmez "github.com/mholt/acmez/v3/acme"
)

// ARI polling bounds (RFC 9773, section 4.3): without a Retry-After a
// client asks again after six hours, and never waits more than a day nor
// asks more than once a minute whatever the CA says.
const (
	DefaultRenewalInfoRetry = 6 * time.Hour
	minRenewalInfoRetry     = time.Minute
	maxRenewalInfoRetry     = 24 * time.Hour
)

// RenewalWindow is the CA's suggestion of when to renew (RFC 9773).
type RenewalWindow struct {
	Start, End time.Time
	// ExplanationURL points at the CA's explanation of an unusual window.
	ExplanationURL string
	// RetryAfter is how long to wait before asking again, from the CA's
	// Retry-After header, clamped to [1 minute, 24 hours]; six hours when
	// the CA did not say.
	RetryAfter time.Duration
}

// ErrNoRenewalInfo means the CA does not offer ACME Renewal Information.
var ErrNoRenewalInfo = errors.New("the CA does not offer ACME Renewal Information")

// RenewalInfo asks the CA once when to renew leaf. Unlike the ACME
// library's own call, it never sleeps to retry: an error or an invalid
// window is returned, and the caller asks again on a later pass.
func (c *Client) RenewalInfo(ctx context.Context, leaf *x509.Certificate) (RenewalWindow, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	dir, err := c.acme.GetDirectory(ctx)
	if err != nil {
		return RenewalWindow{}, c.record("directory", err)
	}
	if dir.RenewalInfo == "" {
		return RenewalWindow{}, ErrNoRenewalInfo
	}
	id, err := acmez.ARIUniqueIdentifier(leaf)
	if err != nil {
		return RenewalWindow{}, err
	}
	w, err := c.getRenewalInfo(ctx, strings.TrimSuffix(dir.RenewalInfo, "/")+"/"+id, time.Now())
	return w, c.record("renewalInfo", err)
}

func (c *Client) getRenewalInfo(ctx context.Context, url string, now time.Time) (RenewalWindow, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return RenewalWindow{}, err
	}
	req.Header.Set("User-Agent", "edgecert")
	resp, err := c.http.Do(req)
	if err != nil {
		return RenewalWindow{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return RenewalWindow{}, err
	}
	if resp.StatusCode != http.StatusOK {
		var p acmez.Problem
		if json.Unmarshal(body, &p) == nil && p.Type != "" {
			p.Status = resp.StatusCode
			return RenewalWindow{}, p
		}
		return RenewalWindow{}, fmt.Errorf("renewalInfo: HTTP %d", resp.StatusCode)
	}
	return parseRenewalInfo(body, resp.Header.Get("Retry-After"), now)
}

// parseRenewalInfo reads a renewalInfo response. A window whose end does
// not come after its start is invalid (RFC 9773, section 4.2).
func parseRenewalInfo(body []byte, retryAfter string, now time.Time) (RenewalWindow, error) {
	var ri struct {
		SuggestedWindow struct {
			Start time.Time `json:"start"`
			End   time.Time `json:"end"`
		} `json:"suggestedWindow"`
		ExplanationURL string `json:"explanationURL"`
	}
	if err := json.Unmarshal(body, &ri); err != nil {
		return RenewalWindow{}, fmt.Errorf("renewalInfo: %w", err)
	}
	w := RenewalWindow{Start: ri.SuggestedWindow.Start, End: ri.SuggestedWindow.End, ExplanationURL: ri.ExplanationURL, RetryAfter: DefaultRenewalInfoRetry}
	if w.Start.IsZero() || !w.End.After(w.Start) {
		return RenewalWindow{}, errors.New("renewalInfo: the suggested window is invalid (its end does not come after its start)")
	}
	if at, ok := parseRetryAfter(retryAfter, now); ok {
		w.RetryAfter = min(max(at.Sub(now), minRenewalInfoRetry), maxRenewalInfoRetry)
	}
	return w, nil
}

// ARIIdentifier is the "replaces" value naming leaf in a renewal order.
func ARIIdentifier(leaf *x509.Certificate) (string, error) {
	return acmez.ARIUniqueIdentifier(leaf)
}
