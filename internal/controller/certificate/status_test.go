package certificate

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/pki"
)

// cond is a condition as the tests compare it: without transition time
// and generation.
type cond struct{ Type, Status, Reason, Message string }

func conds(cs []metav1.Condition) []cond {
	out := make([]cond, 0, len(cs))
	for _, c := range cs {
		out = append(out, cond{c.Type, string(c.Status), c.Reason, c.Message})
	}
	return out
}

func TestSetStatus(t *testing.T) {
	notBefore := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	notAfter := notBefore.Add(90 * 24 * time.Hour)
	renewal := notBefore.Add(60 * 24 * time.Hour)
	kp := &pki.KeyPair{Leaf: &x509.Certificate{NotBefore: notBefore, NotAfter: notAfter}}
	order := &edgecertv1alpha1.OrderStatus{URL: "https://ca.test/order/1", DNSNames: []string{"a.example"}}
	doesNotExist := &issuance.Decision{Issue: true, Reason: "DoesNotExist", Message: `Secret "a-tls" does not exist`}
	renewing := &issuance.Decision{Issue: true, Reason: "Renewing", Message: "renewal time 2026-12-31T00:00:00Z has come"}
	upToDate := &issuance.Decision{Reason: "Issued", Message: "certificate is up to date"}
	failedBefore := []metav1.Condition{
		{Type: "Ready", Status: "False", Reason: "OrderFailed", Message: "connection: refused"},
		{Type: "Issuing", Status: "False", Reason: "OrderFailed", Message: "connection: refused"},
	}

	tests := map[string]struct {
		before   []metav1.Condition
		order    *edgecertv1alpha1.OrderStatus
		facts    facts
		want     []cond
		observed int64
		validity bool
	}{
		"first issuance under way": {
			order:    order,
			facts:    facts{decided: true, decision: doesNotExist},
			observed: 3,
			want: []cond{
				{"Ready", "False", "DoesNotExist", `Secret "a-tls" does not exist`},
				{"Issuing", "True", "DoesNotExist", `Secret "a-tls" does not exist`},
				{"Reconciling", "True", "Progressing", "ACME order https://ca.test/order/1 in progress"},
			},
		},
		"waiting for DNS propagation": {
			order:    order,
			facts:    facts{decided: true, decision: doesNotExist, waiting: &reasoned{"WaitingForDNSPropagation", "Waiting for TXT record _acme-challenge.a.example."}},
			observed: 3,
			want: []cond{
				{"Ready", "False", "DoesNotExist", `Secret "a-tls" does not exist`},
				{"Issuing", "True", "DoesNotExist", `Secret "a-tls" does not exist`},
				{"Reconciling", "True", "WaitingForDNSPropagation", "Waiting for TXT record _acme-challenge.a.example."},
			},
		},
		"issued: Ready, nothing in progress": {
			before: []metav1.Condition{
				{Type: "Ready", Status: "False", Reason: "DoesNotExist"},
				{Type: "Issuing", Status: "True", Reason: "DoesNotExist"},
				{Type: "Reconciling", Status: "True", Reason: "Progressing"},
			},
			facts:    facts{decided: true, decision: upToDate, current: kp, currentValid: true, renewal: renewal},
			observed: 3,
			validity: true,
			want:     []cond{{"Ready", "True", "Issued", "Certificate is up to date and has not expired"}},
		},
		"renewal under way: still Ready": {
			before:   []metav1.Condition{{Type: "Ready", Status: "True", Reason: "Issued", Message: readyMessage}},
			order:    order,
			facts:    facts{decided: true, decision: renewing, current: kp, currentValid: true, renewal: renewal},
			observed: 3,
			validity: true,
			want: []cond{
				{"Ready", "True", "Issued", "Certificate is up to date and has not expired"},
				{"Issuing", "True", "Renewing", "renewal time 2026-12-31T00:00:00Z has come"},
				{"Reconciling", "True", "Progressing", "ACME order https://ca.test/order/1 in progress"},
			},
		},
		"renewal failed: still Ready, Issuing says why": {
			before:   []metav1.Condition{{Type: "Ready", Status: "True", Reason: "Issued", Message: readyMessage}},
			facts:    facts{decided: true, decision: renewing, current: kp, currentValid: true, renewal: renewal, failed: &reasoned{"OrderFailed", "unauthorized: wrong TXT value"}},
			observed: 3,
			validity: true,
			want: []cond{
				{"Ready", "True", "Issued", "Certificate is up to date and has not expired"},
				{"Issuing", "False", "OrderFailed", "unauthorized: wrong TXT value"},
			},
		},
		"first issuance failed": {
			facts:    facts{decided: true, decision: doesNotExist, failed: &reasoned{"OrderFailed", "connection: refused"}},
			observed: 3,
			want: []cond{
				{"Ready", "False", "OrderFailed", "connection: refused"},
				{"Issuing", "False", "OrderFailed", "connection: refused"},
			},
		},
		"backing off keeps the failure": {
			before:   failedBefore,
			facts:    facts{decided: true, decision: doesNotExist, backingOff: true},
			observed: 3,
			want: []cond{
				{"Ready", "False", "OrderFailed", "connection: refused"},
				{"Issuing", "False", "OrderFailed", "connection: refused"},
			},
		},
		"rate limited": {
			facts:    facts{decided: true, decision: doesNotExist, rateLimited: &reasoned{"RateLimited", "rateLimited: too many new orders recently"}},
			observed: 3,
			want: []cond{
				{"Ready", "False", "RateLimited", "rateLimited: too many new orders recently"},
				{"Issuing", "False", "RateLimited", "rateLimited: too many new orders recently"},
			},
		},
		"issuer not Ready: Ready says so, the rest is left alone": {
			before: failedBefore,
			facts:  facts{decided: true, blocked: &reasoned{"IssuerNotReady", `Issuer "nope": not found`}},
			want: []cond{
				{"Ready", "False", "IssuerNotReady", `Issuer "nope": not found`},
				{"Issuing", "False", "OrderFailed", "connection: refused"},
			},
			observed: 3,
		},
		"invalid spec: Stalled, nothing reconciling": {
			before: []metav1.Condition{{Type: "Reconciling", Status: "True", Reason: "Progressing"}},
			order:  order,
			facts:  facts{decided: true, decision: doesNotExist, blocked: &reasoned{"InvalidSpec", "no dns01 solver matches *.a.example"}, stalled: true},
			want: []cond{
				{"Ready", "False", "InvalidSpec", "no dns01 solver matches *.a.example"},
				{"Issuing", "True", "DoesNotExist", `Secret "a-tls" does not exist`},
				{"Stalled", "True", "InvalidSpec", "no dns01 solver matches *.a.example"},
			},
			observed: 3,
		},
		"DNS credentials refused during a renewal: Ready, and Stalled": {
			before:   []metav1.Condition{{Type: "Ready", Status: "True", Reason: "Issued", Message: readyMessage}},
			order:    order,
			facts:    facts{decided: true, decision: renewing, current: kp, currentValid: true, renewal: renewal, blocked: &reasoned{"DNSNotAuthorized", "update of zone example. refused (REFUSED)"}, stalled: true},
			observed: 3,
			validity: true,
			want: []cond{
				{"Ready", "True", "Issued", "Certificate is up to date and has not expired"},
				{"Issuing", "True", "Renewing", "renewal time 2026-12-31T00:00:00Z has come"},
				{"Stalled", "True", "DNSNotAuthorized", "update of zone example. refused (REFUSED)"},
			},
		},
		"transient error: Reconciling says which": {
			before: []metav1.Condition{{Type: "Stalled", Status: "True", Reason: "DNSNotAuthorized"}},
			order:  order,
			facts:  facts{decided: true, decision: doesNotExist, transient: errors.New("ACME: connection refused")},
			want: []cond{
				{"Stalled", "True", "DNSNotAuthorized", ""},
				{"Ready", "False", "DoesNotExist", `Secret "a-tls" does not exist`},
				{"Issuing", "True", "DoesNotExist", `Secret "a-tls" does not exist`},
				{"Reconciling", "True", "TransientError", "ACME: connection refused"},
			},
			observed: 3,
		},
		"transient error before any decision: generation not observed": {
			facts: facts{transient: errors.New("get Issuer: connection refused")},
			want:  []cond{{"Reconciling", "True", "TransientError", "get Issuer: connection refused"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cert := &edgecertv1alpha1.Certificate{}
			cert.Generation = 3
			cert.Status.Conditions = append([]metav1.Condition(nil), tc.before...)
			cert.Status.Order = tc.order
			tc.facts.generation = 3
			setStatus(cert, tc.facts)
			if diff := cmp.Diff(tc.want, conds(cert.Status.Conditions)); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if cert.Status.ObservedGeneration != tc.observed {
				t.Errorf("observedGeneration = %d, want %d", cert.Status.ObservedGeneration, tc.observed)
			}
			if tc.validity {
				if cert.Status.NotBefore == nil || !cert.Status.NotBefore.Time.Equal(notBefore) || !cert.Status.NotAfter.Time.Equal(notAfter) || !cert.Status.RenewalTime.Time.Equal(renewal) {
					t.Errorf("notBefore/notAfter/renewalTime = %v/%v/%v, want %s/%s/%s", cert.Status.NotBefore, cert.Status.NotAfter, cert.Status.RenewalTime, notBefore, notAfter, renewal)
				}
			} else if cert.Status.NotBefore != nil || cert.Status.NotAfter != nil || cert.Status.RenewalTime != nil {
				t.Errorf("validity fields set without a valid certificate: %v %v %v", cert.Status.NotBefore, cert.Status.NotAfter, cert.Status.RenewalTime)
			}

			// The same facts again change nothing: a pass that found the
			// same writes nothing.
			again := cert.DeepCopy()
			setStatus(again, tc.facts)
			if diff := cmp.Diff(cert.Status, again.Status); diff != "" {
				t.Errorf("second setStatus changed status (-first +second):\n%s", diff)
			}
		})
	}
}
