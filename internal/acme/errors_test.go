package acme

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	acmez "github.com/mholt/acmez/v3/acme"
)

func TestClassify(t *testing.T) {
	rateLimited := acmez.Problem{Type: "urn:ietf:params:acme:error:rateLimited", Status: 429, Detail: "too many new orders recently"}
	tests := map[string]struct {
		err  error
		want Classified
	}{
		"no error": {err: nil, want: Classified{}},
		"rate limited with Retry-After": {
			err:  fmt.Errorf("new order: %w", &RateLimitedError{RetryAfter: 90 * time.Second, Err: rateLimited}),
			want: Classified{Class: RateLimited, RetryAfter: 90 * time.Second, Message: "rateLimited: too many new orders recently"},
		},
		"rate limited without Retry-After": {
			err:  fmt.Errorf("new order: %w", rateLimited),
			want: Classified{Class: RateLimited, RetryAfter: time.Hour, Message: "rateLimited: too many new orders recently"},
		},
		"429 without a problem type": {
			err:  acmez.Problem{Status: 429, Detail: "slow down"},
			want: Classified{Class: RateLimited, RetryAfter: time.Hour, Message: ": slow down"},
		},
		"badNonce left after the library's retries": {
			err:  acmez.Problem{Type: "urn:ietf:params:acme:error:badNonce", Status: 400, Detail: "JWS has an invalid anti-replay nonce"},
			want: Classified{Class: Transient, Message: "badNonce: JWS has an invalid anti-replay nonce"},
		},
		"serverInternal": {
			err:  acmez.Problem{Type: "urn:ietf:params:acme:error:serverInternal", Status: 500, Detail: "database unavailable"},
			want: Classified{Class: Transient, Message: "serverInternal: database unavailable"},
		},
		"5xx problem of another type": {
			err:  acmez.Problem{Type: "about:blank", Status: 503, Detail: "Service Unavailable"},
			want: Classified{Class: Transient, Message: "about:blank: Service Unavailable"},
		},
		"unauthorized (4xx)": {
			err:  fmt.Errorf("finalize: %w", acmez.Problem{Type: "urn:ietf:params:acme:error:unauthorized", Status: 403, Detail: "Account is not valid, has status \"deactivated\""}),
			want: Classified{Class: Terminal, Message: `unauthorized: Account is not valid, has status "deactivated"`},
		},
		"externalAccountRequired (4xx)": {
			err:  acmez.Problem{Type: "urn:ietf:params:acme:error:externalAccountRequired", Status: 400, Detail: "no external account binding was provided"},
			want: Classified{Class: Terminal, Message: "externalAccountRequired: no external account binding was provided"},
		},
		"rejectedIdentifier with subproblems (4xx)": {
			err: acmez.Problem{Type: "urn:ietf:params:acme:error:rejectedIdentifier", Status: 400, Detail: "Error creating new order",
				Subproblems: []acmez.Subproblem{
					{Problem: acmez.Problem{Type: "urn:ietf:params:acme:error:rejectedIdentifier", Detail: "policy forbids issuing for name"}, Identifier: acmez.Identifier{Type: "dns", Value: "bad.example"}},
					{Problem: acmez.Problem{Type: "urn:ietf:params:acme:error:malformed", Detail: "invalid domain name"}},
				}},
			want: Classified{Class: Terminal, Message: "rejectedIdentifier: Error creating new order; bad.example: rejectedIdentifier: policy forbids issuing for name; malformed: invalid domain name"},
		},
		"a 4xx answer that is no problem document": {
			err:  errors.New("HTTP 404: 404 page not found"),
			want: Classified{Class: Transient, Message: "HTTP 404: 404 page not found"},
		},
		"network error": {
			err:  &url.Error{Op: "Post", URL: "https://ca.test/acme/new-order", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}},
			want: Classified{Class: Transient, Message: `Post "https://ca.test/acme/new-order": dial tcp: connection refused`},
		},
		"context deadline": {
			err:  fmt.Errorf("get order: %w", context.DeadlineExceeded),
			want: Classified{Class: Transient, Message: "get order: context deadline exceeded"},
		},
		"plain error": {
			err:  errors.New("caBundle holds no PEM certificate"),
			want: Classified{Class: Transient, Message: "caBundle holds no PEM certificate"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Classify(tc.err)); diff != "" {
				t.Errorf("Classify(%v) (-want +got):\n%s", tc.err, diff)
			}
		})
	}
}
