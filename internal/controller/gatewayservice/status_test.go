package gatewayservice

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

func TestSetStatus(t *testing.T) {
	// A status edgecert wrote for generation 2: Stalled on a host nobody
	// claimed.
	then := metav1.NewTime(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	stalled := edgecertv1alpha1.GatewayServiceStatus{
		ObservedGeneration: 2,
		Conditions: []metav1.Condition{
			{Type: "Ready", Status: "False", Reason: "HostNotClaimed", Message: "no policy claims shop.example.test for ns", ObservedGeneration: 2, LastTransitionTime: then},
			{Type: "Stalled", Status: "True", Reason: "HostNotClaimed", Message: "no policy claims shop.example.test for ns", ObservedGeneration: 2, LastTransitionTime: then},
		},
	}
	ready := edgecertv1alpha1.GatewayServiceStatus{
		ObservedGeneration: 2,
		Conditions: []metav1.Condition{
			{Type: "Ready", Status: "True", Reason: "ServerReady", Message: "Server https-shop-ns in Gateway istio/public", ObservedGeneration: 2, LastTransitionTime: then},
		},
	}
	withFacts := func(change func(*facts)) facts {
		f := facts{generation: 3}
		change(&f)
		return f
	}
	tests := map[string]struct {
		before edgecertv1alpha1.GatewayServiceStatus
		facts  facts
		want   edgecertv1alpha1.GatewayServiceStatus
	}{
		"ready": {
			facts: withFacts(func(f *facts) { f.ready("Server https-shop-ns in Gateway istio/public") }),
			want: edgecertv1alpha1.GatewayServiceStatus{ObservedGeneration: 3, Conditions: []metav1.Condition{
				{Type: "Ready", Status: "True", Reason: "ServerReady", Message: "Server https-shop-ns in Gateway istio/public", ObservedGeneration: 3},
			}},
		},
		"ready after being stalled: Stalled goes": {
			before: stalled,
			facts:  withFacts(func(f *facts) { f.ready("Server https-shop-ns in Gateway istio/public") }),
			want: edgecertv1alpha1.GatewayServiceStatus{ObservedGeneration: 3, Conditions: []metav1.Condition{
				{Type: "Ready", Status: "True", Reason: "ServerReady", Message: "Server https-shop-ns in Gateway istio/public", ObservedGeneration: 3},
			}},
		},
		"a person must act: Stalled": {
			facts: withFacts(func(f *facts) { f.fail("HostNotClaimed", "no policy claims shop.example.test for ns") }),
			want: edgecertv1alpha1.GatewayServiceStatus{ObservedGeneration: 3, Conditions: []metav1.Condition{
				{Type: "Ready", Status: "False", Reason: "HostNotClaimed", Message: "no policy claims shop.example.test for ns", ObservedGeneration: 3},
				{Type: "Stalled", Status: "True", Reason: "HostNotClaimed", Message: "no policy claims shop.example.test for ns", ObservedGeneration: 3},
			}},
		},
		"a conflict with another tenant after being Ready: Stalled": {
			before: ready,
			facts:  withFacts(func(f *facts) { f.fail("HostConflict", "shop.example.test is served by ns2/shop") }),
			want: edgecertv1alpha1.GatewayServiceStatus{ObservedGeneration: 3, Conditions: []metav1.Condition{
				{Type: "Ready", Status: "False", Reason: "HostConflict", Message: "shop.example.test is served by ns2/shop", ObservedGeneration: 3},
				{Type: "Stalled", Status: "True", Reason: "HostConflict", Message: "shop.example.test is served by ns2/shop", ObservedGeneration: 3},
			}},
		},
		"waiting for the Certificate: Reconciling": {
			before: ready,
			facts:  withFacts(func(f *facts) { f.wait("CertificateNotReady", "Waiting for Certificate shop-gateway-tls to be issued") }),
			want: edgecertv1alpha1.GatewayServiceStatus{ObservedGeneration: 3, Conditions: []metav1.Condition{
				{Type: "Ready", Status: "False", Reason: "CertificateNotReady", Message: "Waiting for Certificate shop-gateway-tls to be issued", ObservedGeneration: 3},
				{Type: "Reconciling", Status: "True", Reason: "CertificateNotReady", Message: "Waiting for Certificate shop-gateway-tls to be issued", ObservedGeneration: 3},
			}},
		},
		"transient error on a new object: Ready False, not reconciled yet": {
			facts: withFacts(func(f *facts) { f.transient = errors.New("list GatewayPolicies: connection refused") }),
			want: edgecertv1alpha1.GatewayServiceStatus{Conditions: []metav1.Condition{
				{Type: "Reconciling", Status: "True", Reason: "TransientError", Message: "list GatewayPolicies: connection refused", ObservedGeneration: 3},
				{Type: "Ready", Status: "False", Reason: "Progressing", Message: "Not reconciled yet", ObservedGeneration: 3},
			}},
		},
		"transient error keeps Ready and the observed generation": {
			before: ready,
			facts: withFacts(func(f *facts) {
				f.transient = reconcile.TerminalError(errors.New("Secret ns/tls has no key \"tls.crt\""))
			}),
			want: edgecertv1alpha1.GatewayServiceStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{
				{Type: "Ready", Status: "True", Reason: "ServerReady", Message: "Server https-shop-ns in Gateway istio/public", ObservedGeneration: 2, LastTransitionTime: then},
				{Type: "Reconciling", Status: "True", Reason: "TransientError", Message: `Secret ns/tls has no key "tls.crt"`, ObservedGeneration: 3},
			}},
		},
		"transient error after being stalled: retrying, not stalled": {
			before: stalled,
			facts:  withFacts(func(f *facts) { f.transient = errors.New("get Gateway istio/public: timeout") }),
			want: edgecertv1alpha1.GatewayServiceStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{
				{Type: "Ready", Status: "False", Reason: "HostNotClaimed", Message: "no policy claims shop.example.test for ns", ObservedGeneration: 2, LastTransitionTime: then},
				{Type: "Reconciling", Status: "True", Reason: "TransientError", Message: "get Gateway istio/public: timeout", ObservedGeneration: 3},
			}},
		},
		"a lost write race changes nothing": {
			before: stalled,
			facts:  withFacts(func(f *facts) { f.requeued = true; f.ready("Server https-shop-ns in Gateway istio/public") }),
			want:   stalled,
		},
		"no decision changes nothing": {
			before: ready,
			facts:  facts{generation: 3},
			want:   ready,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := *tc.before.DeepCopy()
			setStatus(&st, tc.facts)
			// A condition whose status changed gets a new transition time;
			// the others keep theirs.
			if diff := cmp.Diff(tc.want, st, cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime")); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			for _, c := range st.Conditions {
				for _, b := range tc.before.Conditions {
					if b.Type == c.Type && b.Status == c.Status && !c.LastTransitionTime.Equal(&b.LastTransitionTime) {
						t.Errorf("%s kept its status %s and moved its transition time from %v to %v", c.Type, c.Status, b.LastTransitionTime, c.LastTransitionTime)
					}
				}
			}
		})
	}
}
