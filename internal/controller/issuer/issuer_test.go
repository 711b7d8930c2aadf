package issuer_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	acmez "github.com/mholt/acmez/v3/acme"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
	"github.com/edgecert/edgecert/internal/testenv/managertest"
)

var bed *testenv.Bed

func TestMain(m *testing.M) {
	managertest.Main(m, managertest.Options{}, &bed)
}

func c() client.Client { return bed.ControlPlane.Client }

func newNamespace(t *testing.T) string {
	t.Helper()
	ns, err := bed.ControlPlane.CreateNamespace(context.Background(), "issuer")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// create creates iss and deletes it when the test ends, so that no issuer
// keeps retrying behind the next tests.
func create(t *testing.T, iss *edgecertv1alpha1.Issuer) {
	t.Helper()
	if err := c().Create(context.Background(), iss); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c().Delete(context.Background(), iss) })
}

// cond is what a test checks of a condition.
type cond struct{ Type, Status, Reason, Message string }

// waitConditions waits until the issuer's conditions are want, each for
// its current generation, and status.observedGeneration says whether a
// pass concluded about that generation (concluded), or none did yet (a
// transient error ended every pass: it stays 0), and returns the issuer.
func waitConditions(t *testing.T, iss *edgecertv1alpha1.Issuer, concluded bool, want ...cond) *edgecertv1alpha1.Issuer {
	t.Helper()
	got := &edgecertv1alpha1.Issuer{}
	testenv.Eventually(t, fmt.Sprintf("issuer %s/%s conditions %v", iss.Namespace, iss.Name, want), func() (bool, string) {
		if err := c().Get(context.Background(), client.ObjectKeyFromObject(iss), got); err != nil {
			return false, err.Error()
		}
		var have []cond
		for _, c := range got.Status.Conditions {
			if c.ObservedGeneration != got.Generation {
				return false, fmt.Sprintf("%s is for generation %d, the issuer is at %d", c.Type, c.ObservedGeneration, got.Generation)
			}
			have = append(have, cond{c.Type, string(c.Status), c.Reason, c.Message})
		}
		wantObserved := int64(0)
		if concluded {
			wantObserved = got.Generation
		}
		diff := cmp.Diff(want, have, cmpopts.SortSlices(func(a, b cond) bool { return a.Type < b.Type }))
		if got.Status.ObservedGeneration != wantObserved {
			diff += fmt.Sprintf("; observedGeneration %d, want %d", got.Status.ObservedGeneration, wantObserved)
		}
		return diff == "", diff
	})
	return got
}

// newAccountRequests is how many newAccount requests edgecert's engine
// (the manager's, in this process) sent with outcome ok, from its
// Prometheus counter.
func newAccountRequests(t *testing.T) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "edgecert_acme_client_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["endpoint"] == "newAccount" && labels["outcome"] == "ok" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// pebbleAccount reads the account at Pebble with a POST-as-GET signed by
// the account key in the issuer's Secret.
func pebbleAccount(t *testing.T, pebble *testenv.Pebble, iss *edgecertv1alpha1.Issuer) acmez.Account {
	t.Helper()
	key := accountKey(t, iss)
	cl := &acmez.Client{Directory: pebble.DirectoryURL, HTTPClient: pebble.HTTPClient()}
	acct, err := cl.GetAccount(context.Background(), acmez.Account{PrivateKey: key, Location: iss.Status.AccountURI})
	if err != nil {
		t.Fatalf("get account %s from Pebble: %v", iss.Status.AccountURI, err)
	}
	return acct
}

func accountKey(t *testing.T, iss *edgecertv1alpha1.Issuer) *ecdsa.PrivateKey {
	t.Helper()
	var secret corev1.Secret
	if err := c().Get(context.Background(), types.NamespacedName{Namespace: iss.Namespace, Name: iss.Spec.ACME.PrivateKeySecretRef.Name}, &secret); err != nil {
		t.Fatal(err)
	}
	if secret.Labels["app.kubernetes.io/managed-by"] != "edgecert" || secret.Type != corev1.SecretTypeOpaque {
		t.Errorf("account key Secret: labels %v, type %s; want managed by edgecert, Opaque", secret.Labels, secret.Type)
	}
	key, err := pki.ParseKey(secret.Data["tls.key"])
	if err != nil {
		t.Fatalf("account key Secret: %v", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve.Params().Name != "P-256" {
		t.Fatalf("account key is %T, want ECDSA P-256", key)
	}
	return ec
}

// pebbleAccountPrefix is where Pebble's account URLs start: behind its
// directory, /my-account/<id>.
func pebbleAccountPrefix(p *testenv.Pebble) string {
	return strings.TrimSuffix(p.DirectoryURL, "/dir") + "/my-account/"
}

func TestRegistersTheAccountAndIsReady(t *testing.T) {
	ns := newNamespace(t)
	iss := bed.Issuer(ns, "pebble")
	iss.Spec.ACME.Email = "ops@example.test"
	create(t, iss)
	got := waitConditions(t, iss, true, cond{"Ready", "True", "AccountRegistered", "ACME account is registered"})
	if !strings.HasPrefix(got.Status.AccountURI, pebbleAccountPrefix(bed.Pebble)) {
		t.Errorf("account URI %q, want one of this Pebble's (%s...)", got.Status.AccountURI, pebbleAccountPrefix(bed.Pebble))
	}
	acct := pebbleAccount(t, bed.Pebble, got)
	if diff := cmp.Diff([]string{"mailto:ops@example.test"}, acct.Contact); acct.Status != "valid" || diff != "" {
		t.Errorf("account at Pebble: status %q, contact (-want +got):\n%s", acct.Status, diff)
	}
	bed.ControlPlane.ExpectEvent(t, got, "AccountRegistered", "Registered ACME account "+got.Status.AccountURI)
}

func TestChangedEmailRegistersAgain(t *testing.T) {
	ns := newNamespace(t)
	iss := bed.Issuer(ns, "pebble")
	iss.Spec.ACME.Email = "ops@example.test"
	create(t, iss)
	first := waitConditions(t, iss, true, cond{"Ready", "True", "AccountRegistered", "ACME account is registered"})
	before := newAccountRequests(t)

	first.Spec.ACME.Email = "security@example.test"
	if err := c().Update(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	second := waitConditions(t, first, true, cond{"Ready", "True", "AccountRegistered", "ACME account is registered"})
	if second.Status.AccountHash == first.Status.AccountHash {
		t.Errorf("account hash %s unchanged: the account was not registered again", second.Status.AccountHash)
	}
	if n := newAccountRequests(t) - before; n != 1 {
		t.Errorf("%v newAccount requests after the change, want 1", n)
	}
	// The same key is the same account at the CA.
	if second.Status.AccountURI != first.Status.AccountURI {
		t.Errorf("account URI %s, want the same account %s", second.Status.AccountURI, first.Status.AccountURI)
	}
	// Pebble answers a newAccount for a known key with the account as it
	// is (RFC 8555 7.3.1): the contact there stays the first one, since
	// edgecert sends no account update.
}

func TestBadServerURLShowsTheCAsAnswer(t *testing.T) {
	ns := newNamespace(t)
	iss := bed.Issuer(ns, "pebble")
	iss.Spec.ACME.Server = strings.TrimSuffix(bed.Pebble.DirectoryURL, "/dir") + "/no-directory-here"
	create(t, iss)
	// The directory request's answer, as Pebble (Go's mux) wrote it. Not
	// Stalled, and no pass concluded: edgecert retries, backing off.
	waitConditions(t, iss, false, cond{"Ready", "False", "AccountFailed", "provisioning client: HTTP 404: 404 page not found\n"})
}

func TestEABRequiredAndNotGivenIsRefused(t *testing.T) {
	pebble, err := testenv.StartPebble(testenv.PebbleOptions{DNSServer: bed.BIND.Addr, RequireEAB: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pebble.Stop()
	ns := newNamespace(t)
	iss := bed.Issuer(ns, "eab")
	iss.Spec.ACME.Server, iss.Spec.ACME.CABundle = pebble.DirectoryURL, pebble.ServerCAPEM
	create(t, iss)
	const refused = "externalAccountRequired: ACME server policy requires newAccount requests must include a value for the 'externalAccountBinding' field"
	waitConditions(t, iss, true,
		cond{"Ready", "False", "AccountFailed", refused},
		cond{"Stalled", "True", "AccountFailed", refused})
}

func TestSpecProblemsStall(t *testing.T) {
	tests := map[string]struct {
		change func(ns string, iss *edgecertv1alpha1.Issuer)
		// secret, when set, is created before the issuer.
		secret  *corev1.Secret
		message func(ns string) string
	}{
		"EAB Secret missing": {
			change: func(_ string, iss *edgecertv1alpha1.Issuer) {
				iss.Spec.ACME.ExternalAccountBinding = &edgecertv1alpha1.ExternalAccountBinding{KeyID: "kid-1", KeySecretRef: edgecertv1alpha1.SecretKeySelector{Name: "eab", Key: "mac"}}
			},
			message: func(ns string) string { return "Secret " + ns + "/eab does not exist" },
		},
		"account key Secret without a key": {
			secret: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pebble-account"}, Data: map[string][]byte{"tls.key": []byte("not a key")}},
			message: func(ns string) string {
				return "account key Secret " + ns + "/pebble-account: tls.key: no private key PEM block found"
			},
		},
		"profile the CA does not offer": {
			change:  func(_ string, iss *edgecertv1alpha1.Issuer) { iss.Spec.ACME.Profile = "forever" },
			message: func(string) string { return `the CA does not offer profile "forever"` },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns := newNamespace(t)
			if tc.secret != nil {
				tc.secret.Namespace = ns
				if err := c().Create(context.Background(), tc.secret); err != nil {
					t.Fatal(err)
				}
			}
			iss := bed.Issuer(ns, "pebble")
			if tc.change != nil {
				tc.change(ns, iss)
			}
			create(t, iss)
			waitConditions(t, iss, true,
				cond{"Ready", "False", "InvalidSpec", tc.message(ns)},
				cond{"Stalled", "True", "InvalidSpec", tc.message(ns)})
		})
	}
}
