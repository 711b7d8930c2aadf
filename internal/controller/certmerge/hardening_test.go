package certmerge_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/bundle"
	"github.com/edgecert/edgecert/internal/controller/certmerge"
	"github.com/edgecert/edgecert/internal/testenv"
)

// Issue 12, item 8: team-a's web and team-b's web map to the same entries;
// team-a's comes first and is in the bundle, team-b's is bad. When team-a
// revokes its grant, its key leaves the bundle: team-b's bad Secret does
// not keep it as "last good data", which was never team-b's.
func TestRevokedSourceLeavesTheBundleWhenAnotherSourceMapsToItsEntries(t *testing.T) {
	ctx := context.Background()
	gw, alpha, beta := namespace(t, "gw"), namespace(t, "alpha"), namespace(t, "beta")
	teamA := tlsSecret(t, alpha, "web", nil, farFuture, "web.alpha.example.com")
	bad := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: beta, Name: "web"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: []byte("-----BEGIN CERTIFICATE-----\ntruncated"), corev1.TLSPrivateKeyKey: []byte("truncated")}}
	create(t, bad)
	grants := map[string]*edgecertv1alpha1.CertMergeGrant{}
	for _, ns := range []string{alpha, beta} {
		grants[ns] = &edgecertv1alpha1.CertMergeGrant{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gateway"},
			Spec: edgecertv1alpha1.CertMergeGrantSpec{From: []edgecertv1alpha1.CertMergeGrantFrom{{Namespace: gw}}}}
		create(t, grants[ns])
	}
	cm := certMerge(gw, "ingress", "bundle", edgecertv1alpha1.BundleSources{
		Secrets: []edgecertv1alpha1.SecretSource{{Namespace: alpha, Name: "web"}, {Namespace: beta, Name: "web"}},
	})
	create(t, cm)
	testenv.Eventually(t, "team-a's web in the bundle", bundleHas(gw, "bundle", entries("web", teamA)))
	wantRecord := fmt.Sprintf(`{"web.crt":"%s/web/%s"}`, alpha, teamA.UID)
	if got := mustSecret(t, gw, "bundle").Annotations[certmerge.OriginsAnnotation]; got != wantRecord {
		t.Errorf("origin record = %s, want %s", got, wantRecord)
	}

	if err := c().Delete(ctx, grants[alpha]); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "team-a's key gone from the bundle", bundleHas(gw, "bundle", map[string][]byte{}))
	status := func() *edgecertv1alpha1.CertMergeStatus { return &cm.Status }
	testenv.Eventually(t, "both reported", func() (bool, string) {
		if ok, msg := conditionIs(cm, status, edgecertv1alpha1.SourcesReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonSourcesExcluded)(); !ok {
			return false, msg
		}
		want := []edgecertv1alpha1.ExcludedSource{
			{Namespace: alpha, Name: "web", Reason: bundle.ReasonNotPermitted, Message: "Secret " + alpha + "/web: out of reach, no CertMergeGrant there permits this CertMerge; use a ClusterCertMerge or ask that namespace's owner for a grant"},
			{Namespace: beta, Name: "web", Reason: bundle.ReasonInvalidCertificate, Message: beta + "/web: tls.crt: certificate data is not PEM"},
		}
		if diff := cmp.Diff(want, cm.Status.Excluded); diff != "" {
			return false, "excluded (-want +got):\n" + diff
		}
		return true, ""
	})
	if len(cm.Status.Sources) != 0 {
		t.Errorf("status.sources = %+v, want none", cm.Status.Sources)
	}
	if got := mustSecret(t, gw, "bundle").Annotations[certmerge.OriginsAnnotation]; got != "{}" {
		t.Errorf("origin record = %s, want {}", got)
	}
}

// bigTLSSecret creates a TLS Secret whose tls.crt is a leaf followed by
// filler certificates up to about size bytes, as a long chain would be.
func bigTLSSecret(t *testing.T, ns, name string, size int) *corev1.Secret {
	t.Helper()
	cert, key := keyPair(farFuture, name+".example.com")
	filler, _ := keyPair(farFuture, "filler.example.com")
	cert = append(cert, bytes.Repeat(filler, size/len(filler))...)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key},
	}
	create(t, s)
	return s
}

// Past the budget: the sources that fit stay and keep being updated, the
// one that does not is reported, and a new source never pushes out one
// already in the bundle.
func TestBundleTooLargeKeepsTheSourcesThatFit(t *testing.T) {
	ns := namespace(t, "budget")
	// Three chains of 300 KiB and a small one fit in 960 KiB; a fourth
	// 300 KiB chain does not. In name order: a, b, c, d, small.
	a := bigTLSSecret(t, ns, "a", 300<<10)
	b := bigTLSSecret(t, ns, "b", 300<<10)
	cc := bigTLSSecret(t, ns, "c", 300<<10)
	d := bigTLSSecret(t, ns, "d", 300<<10)
	small := tlsSecret(t, ns, "small", nil, farFuture, "small.example.com")
	cm := certMerge(ns, "budget", "bundle", edgecertv1alpha1.BundleSources{
		Secrets: []edgecertv1alpha1.SecretSource{{Name: "small"}, {Name: "d"}, {Name: "c"}, {Name: "b"}, {Name: "a"}},
	})
	create(t, cm)
	testenv.Eventually(t, "a, b, c and small in the bundle", bundleHas(ns, "bundle", merged(entries("a", a), entries("b", b), entries("c", cc), entries("small", small))))
	status := func() *edgecertv1alpha1.CertMergeStatus { return &cm.Status }
	testenv.Eventually(t, "Ready False, BundleTooLarge", conditionIs(cm, status, edgecertv1alpha1.ReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonBundleTooLarge))
	if got := excludedReasons(cm.Status); !cmp.Equal(got, map[string]string{"d": "BundleTooLarge"}) {
		t.Errorf("excluded = %v, want d BundleTooLarge", got)
	}
	dBytes := len("d.crt") + len(d.Data["tls.crt"]) + len("d.key") + len(d.Data["tls.key"]) + len(`"d.crt":"`+ns+"/d/"+string(d.UID)+`",`)
	wantMsg := fmt.Sprintf("%s/d: left out: its %d bytes would take the bundle past its budget of 983040 bytes (a Secret holds at most 1 MiB); sources already in the bundle keep their place, then new ones in namespace/name order", ns, dBytes)
	if len(cm.Status.Excluded) != 1 || cm.Status.Excluded[0].Message != wantMsg {
		t.Errorf("excluded = %+v, want the message %q", cm.Status.Excluded, wantMsg)
	}
	bed.ControlPlane.ExpectEvent(t, cm, edgecertv1alpha1.ReasonBundleTooLarge, ns+"/d")

	// Renewals of sources in the bundle still land.
	newCert, newKey := keyPair(farFuture, "small.example.com")
	update(t, small, func(s *corev1.Secret) {
		s.Data = map[string][]byte{corev1.TLSCertKey: newCert, corev1.TLSPrivateKeyKey: newKey}
	})
	testenv.Eventually(t, "small's renewal in the bundle", bundleHas(ns, "bundle", merged(entries("a", a), entries("b", b), entries("c", cc), entries("small", small))))

	// A new source first in name order does not push out those in the
	// bundle: it is left out.
	first := bigTLSSecret(t, ns, "0-first", 300<<10)
	update(t, cm, func(m *edgecertv1alpha1.CertMerge) {
		m.Spec.Secrets = append(m.Spec.Secrets, edgecertv1alpha1.SecretSource{Name: first.Name})
	})
	testenv.Eventually(t, "0-first left out too", func() (bool, string) {
		if ok, msg := conditionIs(cm, status, edgecertv1alpha1.ReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonBundleTooLarge)(); !ok {
			return false, msg
		}
		want := map[string]string{"0-first": "BundleTooLarge", "d": "BundleTooLarge"}
		if got := excludedReasons(cm.Status); !cmp.Equal(got, want) {
			return false, fmt.Sprintf("excluded = %v, want %v", got, want)
		}
		return true, ""
	})
	if ok, msg := bundleHas(ns, "bundle", merged(entries("a", a), entries("b", b), entries("c", cc), entries("small", small)))(); !ok {
		t.Errorf("bundle after a new source came first in name order: %s", msg)
	}

	// Room for one chain: b leaves. 0-first and d both wait, both new;
	// 0-first comes first in name order and takes the room.
	if err := c().Delete(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "0-first takes b's room", bundleHas(ns, "bundle", merged(entries("0-first", first), entries("a", a), entries("c", cc), entries("small", small))))
}

// recorder keeps every response body the API server sends.
type recorder struct {
	next   http.RoundTripper
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// saw reports whether any response held data, raw or base64-encoded.
func (r *recorder) saw(data []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	b64 := []byte(base64.StdEncoding.EncodeToString(data))
	for _, b := range r.bodies {
		if bytes.Contains(b, data) || bytes.Contains(b, b64) {
			return true
		}
	}
	return false
}

// A Secret named in the list that is not kubernetes.io/tls is refused,
// and its data never crosses the wire to edgecert: every response the API
// server sent the reader is recorded and searched for the password.
func TestNamedSourceOfAnotherTypeIsRefusedUnread(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "types")
	password := []byte("correct horse battery staple " + ns)
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, Data: map[string][]byte{"password": password}})
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "basic"}, Type: corev1.SecretTypeBasicAuth,
		Data: map[string][]byte{corev1.BasicAuthPasswordKey: password}})
	web := tlsSecret(t, ns, "web", nil, farFuture, "web.example.com")

	rec := &recorder{}
	cfg := rest.CopyConfig(bed.ControlPlane.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
	api, err := client.New(cfg, client.Options{Scheme: bed.ControlPlane.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in, err := certmerge.ReadNamedSources(ctx, api, core.RESTClient(), ns,
		bundle.Ref{Name: "db"}, bundle.Ref{Name: "basic"}, bundle.Ref{Name: "web"}, bundle.Ref{Name: "missing"})
	if err != nil {
		t.Fatal(err)
	}
	want := []bundle.Source{
		{Ref: bundle.Ref{Namespace: ns, Name: "db"}, Type: "Opaque"},
		{Ref: bundle.Ref{Namespace: ns, Name: "basic"}, Type: "kubernetes.io/basic-auth"},
		{Ref: bundle.Ref{Namespace: ns, Name: "web"}, UID: string(web.UID), Type: "kubernetes.io/tls", Data: web.Data},
	}
	if diff := cmp.Diff(want, in.Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bundle.Ref{{Namespace: ns, Name: "missing"}}, in.Missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	// The recorder works: it saw the TLS Secret's key.
	if !rec.saw(web.Data[corev1.TLSPrivateKeyKey]) {
		t.Fatal("the recorder did not see the TLS Secret's key: it records nothing")
	}
	if rec.saw(password) {
		t.Error("the API server sent edgecert the password of a Secret that is not kubernetes.io/tls")
	}

	// Through the manager: refused with a message naming the Secret and its
	// type, and the password is nowhere in the bundle or the status.
	cm := certMerge(ns, "types", "bundle", edgecertv1alpha1.BundleSources{
		Secrets: []edgecertv1alpha1.SecretSource{{Name: "db"}, {Name: "basic"}, {Name: "web"}},
	})
	create(t, cm)
	testenv.Eventually(t, "web in the bundle", bundleHas(ns, "bundle", entries("web", web)))
	testenv.Eventually(t, "db and basic refused", func() (bool, string) {
		if err := c().Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
			return false, err.Error()
		}
		want := []edgecertv1alpha1.ExcludedSource{
			{Namespace: ns, Name: "basic", Reason: bundle.ReasonNotTLS, Message: ns + `/basic: type is "kubernetes.io/basic-auth", not kubernetes.io/tls; edgecert does not read its data`},
			{Namespace: ns, Name: "db", Reason: bundle.ReasonNotTLS, Message: ns + `/db: type is "Opaque", not kubernetes.io/tls; edgecert does not read its data`},
		}
		if diff := cmp.Diff(want, cm.Status.Excluded); diff != "" {
			return false, "excluded (-want +got):\n" + diff
		}
		return true, ""
	})
	st := fmt.Sprintf("%+v", cm.Status)
	if strings.Contains(st, string(password)) {
		t.Error("the status holds the password")
	}
	for k, v := range mustSecret(t, ns, "bundle").Data {
		if bytes.Contains(v, password) {
			t.Errorf("bundle entry %s holds the password", k)
		}
	}
}
