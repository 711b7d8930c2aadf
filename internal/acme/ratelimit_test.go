package acme

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgecert/edgecert/internal/pki"
)

// rateLimitingCA is a test double for the one thing Pebble cannot do: refuse
// a new order with HTTP 429, a rateLimited problem and a Retry-After.
func rateLimitingCA(t *testing.T, retryAfter string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Replay-Nonce", fmt.Sprintf("nonce-%d", time.Now().UnixNano()))
		switch r.URL.Path {
		case "/dir":
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"newNonce":"%[1]s/nonce","newAccount":"%[1]s/account","newOrder":"%[1]s/order"}`, srv.URL)
		case "/nonce":
			w.WriteHeader(http.StatusOK)
		case "/order":
			w.Header().Set("Content-Type", "application/problem+json")
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = fmt.Fprint(w, `{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many new orders recently","status":429}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRateLimitHonoursRetryAfter(t *testing.T) {
	key, err := pki.GenerateKey(pki.KeySpec{})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		header string
		want   time.Duration
	}{
		"seconds":         {header: "120", want: 2 * time.Minute},
		"http date":       {header: time.Now().Add(10 * time.Minute).UTC().Format(http.TimeFormat), want: 10 * time.Minute},
		"no header":       {header: "", want: defaultRateLimitWait},
		"garbage ignored": {header: "soon", want: defaultRateLimitWait},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ca := rateLimitingCA(t, tc.header)
			var outcomes []string
			e := &Engine{Observe: func(_, endpoint, outcome string) { outcomes = append(outcomes, endpoint+"="+outcome) }}
			c, err := e.Client(ca.URL+"/dir", nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.NewOrder(context.Background(), Account{Key: key, URL: ca.URL + "/account/1"}, []string{"a.example.test"}, "", "")
			got := Classify(err)
			if got.Class != RateLimited {
				t.Fatalf("class = %s (%v), want rate_limited", got.Class, err)
			}
			if d := got.RetryAfter - tc.want; d < -2*time.Second || d > 2*time.Second {
				t.Errorf("RetryAfter = %s, want %s", got.RetryAfter, tc.want)
			}
			if got.Message != "rateLimited: too many new orders recently" {
				t.Errorf("message = %q", got.Message)
			}
			if len(outcomes) != 1 || outcomes[0] != "newOrder=rate_limited" {
				t.Errorf("observed %v, want one newOrder=rate_limited", outcomes)
			}
		})
	}
}
