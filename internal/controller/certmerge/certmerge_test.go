package certmerge_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/bundle"
	"github.com/edgecert/edgecert/internal/controller/certmerge"
	"github.com/edgecert/edgecert/internal/testenv"
)

// Seed 000's setup: cert-manager Secrets labelled certmerge=true in
// istio-system, merged into istio-ingressgateway-certs.
func TestMergesByNameAndByLabel(t *testing.T) {
	ns := namespace(t, "istio-system")
	soon := farFuture.Add(-24 * time.Hour)
	dev := tlsSecret(t, ns, "cert-svc.dev.domain.com", map[string]string{"certmerge": "true", "env": "dev"}, farFuture, "svc.dev.domain.com")
	prod := tlsSecret(t, ns, "cert-svc.prod.domain.com", map[string]string{"certmerge": "true", "env": "prod"}, soon, "svc.prod.domain.com")
	own := tlsSecret(t, ns, "own-cert", nil, farFuture, "own.domain.com")
	tlsSecret(t, ns, "unselected", map[string]string{"certmerge": "false"}, farFuture, "no.domain.com")

	cm := certMerge(ns, "certmerge-istio-ingress", "istio-ingressgateway-certs", edgecertv1alpha1.BundleSources{
		Secrets:   []edgecertv1alpha1.SecretSource{{Name: "own-cert"}},
		Selectors: []edgecertv1alpha1.SecretSelector{{LabelSelector: metav1.LabelSelector{MatchLabels: map[string]string{"certmerge": "true"}}}},
	})
	create(t, cm)

	testenv.Eventually(t, "bundle holds the listed and the labelled sources", bundleHas(ns, "istio-ingressgateway-certs", merged(
		entries("cert-svc.dev.domain.com", dev), entries("cert-svc.prod.domain.com", prod), entries("own-cert", own))))
	testenv.Eventually(t, "Ready", conditionIs(cm, func() *edgecertv1alpha1.CertMergeStatus { return &cm.Status }, edgecertv1alpha1.ReadyCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonBundleUpToDate))

	bundleSecret, err := getSecret(ns, "istio-ingressgateway-certs")
	if err != nil {
		t.Fatal(err)
	}
	if bundleSecret.Type != corev1.SecretTypeOpaque {
		t.Errorf("bundle type = %s, want Opaque", bundleSecret.Type)
	}
	if diff := cmp.Diff(map[string]string{"app.kubernetes.io/managed-by": "edgecert", certmerge.CertMergeLabel: cm.Name}, bundleSecret.Labels); diff != "" {
		t.Errorf("bundle labels (-want +got):\n%s", diff)
	}
	if !metav1.IsControlledBy(bundleSecret, cm) {
		t.Errorf("bundle owner references = %+v, want the CertMerge as controller", bundleSecret.OwnerReferences)
	}
	if got, want := bundleSecret.Annotations[certmerge.ChecksumAnnotation], bundle.BundleChecksum(bundleSecret.Data); got != want {
		t.Errorf("bundle checksum annotation = %q, want %q", got, want)
	}

	st := cm.Status
	wantSources := []edgecertv1alpha1.BundleSourceStatus{
		{Namespace: ns, Name: "cert-svc.dev.domain.com", CertKey: "cert-svc.dev.domain.com.crt", KeyKey: "cert-svc.dev.domain.com.key", Hosts: []string{"svc.dev.domain.com"}, NotAfter: metav1.NewTime(farFuture)},
		{Namespace: ns, Name: "cert-svc.prod.domain.com", CertKey: "cert-svc.prod.domain.com.crt", KeyKey: "cert-svc.prod.domain.com.key", Hosts: []string{"svc.prod.domain.com"}, NotAfter: metav1.NewTime(soon)},
		{Namespace: ns, Name: "own-cert", CertKey: "own-cert.crt", KeyKey: "own-cert.key", Hosts: []string{"own.domain.com"}, NotAfter: metav1.NewTime(farFuture)},
	}
	if diff := cmp.Diff(wantSources, st.Sources, cmp.Comparer(func(a, b metav1.Time) bool { return a.Equal(&b) })); diff != "" {
		t.Errorf("status.sources (-want +got):\n%s", diff)
	}
	if st.SourceCount != 3 || st.EarliestExpiry == nil || !st.EarliestExpiry.Time.Equal(soon) || st.BundleChecksum != bundleSecret.Annotations[certmerge.ChecksumAnnotation] {
		t.Errorf("status count=%d earliest=%v checksum=%s, want 3, %v and the bundle's checksum", st.SourceCount, st.EarliestExpiry, st.BundleChecksum, soon)
	}
	if !slices.Contains(cm.Finalizers, certmerge.Finalizer) {
		t.Errorf("finalizers = %v, want %s", cm.Finalizers, certmerge.Finalizer)
	}
}

func TestSelectorOperators(t *testing.T) {
	ns := namespace(t, "operators")
	secrets := map[string]*corev1.Secret{
		"dev":  tlsSecret(t, ns, "dev", map[string]string{"env": "dev", "tier": "web"}, farFuture, "dev.example.com"),
		"prod": tlsSecret(t, ns, "prod", map[string]string{"env": "prod"}, farFuture, "prod.example.com"),
		"qa":   tlsSecret(t, ns, "qa", map[string]string{"env": "qa", "tier": "web"}, farFuture, "qa.example.com"),
		"none": tlsSecret(t, ns, "none", nil, farFuture, "none.example.com"),
	}
	// An Opaque Secret matching every selector is never picked by label.
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "opaque", Labels: map[string]string{"env": "dev", "tier": "web"}}, StringData: map[string]string{"x": "y"}})

	req := func(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelector {
		return metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
	}
	tests := map[string]struct {
		selector metav1.LabelSelector
		want     []string
	}{
		"matchlabels":  {selector: metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}, want: []string{"prod"}},
		"in":           {selector: req("env", metav1.LabelSelectorOpIn, "dev", "qa"), want: []string{"dev", "qa"}},
		"notin":        {selector: req("env", metav1.LabelSelectorOpNotIn, "dev", "qa"), want: []string{"none", "prod"}},
		"exists":       {selector: req("tier", metav1.LabelSelectorOpExists), want: []string{"dev", "qa"}},
		"doesnotexist": {selector: req("tier", metav1.LabelSelectorOpDoesNotExist), want: []string{"none", "prod"}},
		"combined": {selector: metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}, MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "env", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"qa"}}}}, want: []string{"dev"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			create(t, certMerge(ns, name, "bundle-"+name, edgecertv1alpha1.BundleSources{
				Selectors: []edgecertv1alpha1.SecretSelector{{LabelSelector: tc.selector}},
			}))
			want := map[string][]byte{}
			for _, s := range tc.want {
				want = merged(want, entries(s, secrets[s]))
			}
			testenv.Eventually(t, "bundle holds "+strings.Join(tc.want, ", "), bundleHas(ns, "bundle-"+name, want))
		})
	}
}

func TestSourceChangesReachTheBundle(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "changes")
	a := tlsSecret(t, ns, "a", map[string]string{"merge": "yes"}, farFuture, "a.example.com")
	b := tlsSecret(t, ns, "b", map[string]string{"merge": "yes"}, farFuture, "b.example.com")
	c := tlsSecret(t, ns, "c", map[string]string{"merge": "yes"}, farFuture, "c.example.com")
	listed := tlsSecret(t, ns, "listed", nil, farFuture, "listed.example.com")
	cm := certMerge(ns, "changes", "bundle", edgecertv1alpha1.BundleSources{
		Secrets:   []edgecertv1alpha1.SecretSource{{Name: "listed"}},
		Selectors: []edgecertv1alpha1.SecretSelector{{LabelSelector: metav1.LabelSelector{MatchLabels: map[string]string{"merge": "yes"}}}},
	})
	create(t, cm)
	testenv.Eventually(t, "initial bundle", bundleHas(ns, "bundle", merged(entries("a", a), entries("b", b), entries("c", c), entries("listed", listed))))

	// Renewal: new data in a source.
	newCert, newKey := keyPair(farFuture.Add(time.Hour), "a.example.com")
	update(t, a, func(s *corev1.Secret) {
		s.Data = map[string][]byte{corev1.TLSCertKey: newCert, corev1.TLSPrivateKeyKey: newKey}
	})
	testenv.Eventually(t, "renewed source in the bundle", bundleHas(ns, "bundle", merged(entries("a", a), entries("b", b), entries("c", c), entries("listed", listed))))

	// Delete.
	if err := bed.ControlPlane.Client.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "deleted source gone", bundleHas(ns, "bundle", merged(entries("a", a), entries("c", c), entries("listed", listed))))

	// Relabel so the selector no longer matches.
	update(t, c, func(s *corev1.Secret) { s.Labels["merge"] = "no" })
	testenv.Eventually(t, "relabelled source gone", bundleHas(ns, "bundle", merged(entries("a", a), entries("listed", listed))))

	// Remove from the list.
	update(t, cm, func(m *edgecertv1alpha1.CertMerge) { m.Spec.Secrets = nil })
	testenv.Eventually(t, "unlisted source gone", bundleHas(ns, "bundle", entries("a", a)))

	// Relabel back in.
	update(t, c, func(s *corev1.Secret) { s.Labels["merge"] = "yes" })
	testenv.Eventually(t, "relabelled source back", bundleHas(ns, "bundle", merged(entries("a", a), entries("c", c))))
}

func TestCollisionIsReportedAndSettledByOrder(t *testing.T) {
	alpha, zeta := namespace(t, "alpha"), namespace(t, "zeta")
	target := namespace(t, "target")
	first := tlsSecret(t, alpha, "web", nil, farFuture, "alpha.example.com")
	tlsSecret(t, zeta, "web", nil, farFuture, "zeta.example.com")
	ccm := &edgecertv1alpha1.ClusterCertMerge{
		ObjectMeta: metav1.ObjectMeta{Name: "collide-" + target},
		Spec: edgecertv1alpha1.ClusterCertMergeSpec{SecretName: "bundle", SecretNamespace: target, BundleSources: edgecertv1alpha1.BundleSources{
			// Listed in reverse order: the rule does not depend on it.
			Secrets: []edgecertv1alpha1.SecretSource{{Namespace: zeta, Name: "web"}, {Namespace: alpha, Name: "web"}},
		}},
	}
	create(t, ccm)
	testenv.Eventually(t, "first source in namespace order keeps the entry", bundleHas(target, "bundle", entries("web", first)))
	status := func() *edgecertv1alpha1.CertMergeStatus { return &ccm.Status }
	testenv.Eventually(t, "KeysUnique False", conditionIs(ccm, status, edgecertv1alpha1.KeysUniqueCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonKeyCollision))
	testenv.Eventually(t, "Ready False", conditionIs(ccm, status, edgecertv1alpha1.ReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonKeyCollision))
	msg := ""
	for _, c := range ccm.Status.Conditions {
		if c.Type == edgecertv1alpha1.KeysUniqueCondition {
			msg = c.Message
		}
	}
	if !strings.Contains(msg, alpha+"/web") || !strings.Contains(msg, zeta+"/web") {
		t.Errorf("KeysUnique message %q does not name both sources", msg)
	}
	if !metav1.IsControlledBy(mustSecret(t, target, "bundle"), ccm) {
		t.Error("bundle is not controlled by the ClusterCertMerge")
	}

	// The fix the message suggests: namespace-qualified keys.
	update(t, ccm, func(m *edgecertv1alpha1.ClusterCertMerge) { m.Spec.KeyTemplate = "{namespace}.{name}" })
	testenv.Eventually(t, "KeysUnique True", conditionIs(ccm, status, edgecertv1alpha1.KeysUniqueCondition, metav1.ConditionTrue, ""))
	if b := mustSecret(t, target, "bundle"); len(b.Data) != 4 || b.Data[alpha+".web.crt"] == nil || b.Data[zeta+".web.crt"] == nil {
		t.Errorf("bundle entries = %v, want both sources namespace-qualified", keys(b.Data))
	}
}

func TestBadSourcesAreLeftOutAndTheBundleStays(t *testing.T) {
	ns := namespace(t, "bad")
	good := tlsSecret(t, ns, "good", nil, farFuture, "good.example.com")
	turns := tlsSecret(t, ns, "turns-bad", nil, farFuture, "turns.example.com")
	lastGood := entries("turns-bad", turns)
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "opaque"}, StringData: map[string]string{"tls.crt": "x", "tls.key": "y"}})
	otherCert, _ := keyPair(farFuture, "other.example.com")
	_, otherKey := keyPair(farFuture, "other.example.com")
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mismatch"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: otherCert, corev1.TLSPrivateKeyKey: otherKey}})

	cm := certMerge(ns, "bad", "bundle", edgecertv1alpha1.BundleSources{Secrets: []edgecertv1alpha1.SecretSource{
		{Name: "good"}, {Name: "turns-bad"}, {Name: "opaque"}, {Name: "mismatch"}, {Name: "missing"},
	}})
	create(t, cm)
	testenv.Eventually(t, "good sources in, bad ones out", bundleHas(ns, "bundle", merged(entries("good", good), lastGood)))
	status := func() *edgecertv1alpha1.CertMergeStatus { return &cm.Status }
	testenv.Eventually(t, "SourcesReady False", conditionIs(cm, status, edgecertv1alpha1.SourcesReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonSourcesExcluded))
	if diff := cmp.Diff(map[string]string{"opaque": bundle.ReasonNotTLS, "mismatch": bundle.ReasonKeyMismatch, "missing": bundle.ReasonNotFound}, excludedReasons(cm.Status)); diff != "" {
		t.Errorf("excluded (-want +got):\n%s", diff)
	}

	// A source that was good turns bad: the bundle keeps its last good data.
	update(t, turns, func(s *corev1.Secret) { s.Data[corev1.TLSCertKey] = []byte("-----BEGIN CERTIFICATE-----\ntruncated") })
	testenv.Eventually(t, "turned-bad source reported", func() (bool, string) {
		if err := c().Get(context.Background(), client.ObjectKeyFromObject(cm), cm); err != nil {
			return false, err.Error()
		}
		if excludedReasons(cm.Status)["turns-bad"] != bundle.ReasonInvalidCertificate {
			return false, fmt.Sprintf("excluded = %v", excludedReasons(cm.Status))
		}
		return true, ""
	})
	if ok, got := bundleHas(ns, "bundle", merged(entries("good", good), lastGood))(); !ok {
		t.Errorf("bundle after a source turned bad: %s", got)
	}
	stale := false
	for _, s := range cm.Status.Sources {
		stale = stale || (s.Name == "turns-bad" && s.Stale)
	}
	if !stale {
		t.Errorf("status.sources = %+v, want turns-bad marked stale", cm.Status.Sources)
	}
}

func excludedReasons(st edgecertv1alpha1.CertMergeStatus) map[string]string {
	out := map[string]string{}
	for _, e := range st.Excluded {
		out[e.Name] = e.Reason
	}
	return out
}

func mustSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := getSecret(ns, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCrossNamespaceNeedsAGrantOrTheClusterKind(t *testing.T) {
	ctx := context.Background()
	gw, team := namespace(t, "gateway"), namespace(t, "team")
	web := tlsSecret(t, team, "web", map[string]string{"certmerge": "true"}, farFuture, "web.team.example.com")
	api := tlsSecret(t, team, "api", map[string]string{"certmerge": "true"}, farFuture, "api.team.example.com")
	cm := certMerge(gw, "ingress", "bundle", edgecertv1alpha1.BundleSources{
		Secrets:   []edgecertv1alpha1.SecretSource{{Namespace: team, Name: "web"}},
		Selectors: []edgecertv1alpha1.SecretSelector{{Namespaces: []string{team}, LabelSelector: metav1.LabelSelector{MatchLabels: map[string]string{"certmerge": "true"}}}},
	})
	create(t, cm)
	status := func() *edgecertv1alpha1.CertMergeStatus { return &cm.Status }
	testenv.Eventually(t, "refused without a grant", conditionIs(cm, status, edgecertv1alpha1.SourcesReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonSourcesExcluded))
	if ok, got := bundleHas(gw, "bundle", map[string][]byte{})(); !ok {
		t.Fatalf("bundle without a grant: %s", got)
	}
	if got := excludedReasons(cm.Status); got["web"] != bundle.ReasonNotPermitted || got[bundle.AnyName] != bundle.ReasonNotPermitted {
		t.Fatalf("excluded = %v, want web and the namespace NotPermitted", got)
	}

	// A grant for another CertMerge does not help.
	other := &edgecertv1alpha1.CertMergeGrant{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "other"},
		Spec: edgecertv1alpha1.CertMergeGrantSpec{From: []edgecertv1alpha1.CertMergeGrantFrom{{Namespace: gw, Name: "someone-else"}}}}
	create(t, other)
	// A grant limited to "web" lets in web only.
	grant := &edgecertv1alpha1.CertMergeGrant{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "gateway"},
		Spec: edgecertv1alpha1.CertMergeGrantSpec{From: []edgecertv1alpha1.CertMergeGrantFrom{{Namespace: gw, Name: "ingress"}}, SecretNames: []string{"web"}}}
	create(t, grant)
	testenv.Eventually(t, "granted Secret in, the other still refused", bundleHas(gw, "bundle", entries("web", web)))
	testenv.Eventually(t, "api reported", func() (bool, string) {
		if err := c().Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
			return false, err.Error()
		}
		if r := excludedReasons(cm.Status); len(r) != 1 || r["api"] != bundle.ReasonNotPermitted {
			return false, fmt.Sprintf("excluded = %v, want only api NotPermitted", r)
		}
		return true, ""
	})

	// Widen the grant to the whole namespace, then revoke it.
	update(t, grant, func(g *edgecertv1alpha1.CertMergeGrant) { g.Spec.SecretNames = nil })
	testenv.Eventually(t, "whole namespace granted", bundleHas(gw, "bundle", merged(entries("web", web), entries("api", api))))
	testenv.Eventually(t, "Ready", conditionIs(cm, status, edgecertv1alpha1.ReadyCondition, metav1.ConditionTrue, ""))
	if err := c().Delete(ctx, grant); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "revoked grant empties the bundle", bundleHas(gw, "bundle", map[string][]byte{}))

	// A ClusterCertMerge needs no grant.
	ccm := &edgecertv1alpha1.ClusterCertMerge{
		ObjectMeta: metav1.ObjectMeta{Name: "cross-" + gw},
		Spec: edgecertv1alpha1.ClusterCertMergeSpec{SecretName: "cluster-bundle", SecretNamespace: gw, BundleSources: edgecertv1alpha1.BundleSources{
			Selectors: []edgecertv1alpha1.SecretSelector{{Namespaces: []string{team}, LabelSelector: metav1.LabelSelector{MatchLabels: map[string]string{"certmerge": "true"}}}},
		}},
	}
	create(t, ccm)
	testenv.Eventually(t, "cluster kind reads the other namespace", bundleHas(gw, "cluster-bundle", merged(entries("web", web), entries("api", api))))
}

func TestWorkloadRollsExactlyWhenTheBundleChanges(t *testing.T) {
	ns := namespace(t, "rollout")
	src := tlsSecret(t, ns, "gw-cert", map[string]string{"certmerge": "true"}, farFuture, "gw.example.com")
	labels := map[string]string{"app": "ingressgateway"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "istio-ingressgateway"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "proxy", Image: "istio/proxyv2:1.0.2"}}},
			},
		},
	}
	create(t, dep)
	cm := certMerge(ns, "gw", "istio-ingressgateway-certs", edgecertv1alpha1.BundleSources{
		Selectors: []edgecertv1alpha1.SecretSelector{{LabelSelector: metav1.LabelSelector{MatchLabels: map[string]string{"certmerge": "true"}}}},
		Workloads: []edgecertv1alpha1.WorkloadReference{{Kind: "Deployment", Name: "istio-ingressgateway"}},
	})
	create(t, cm)
	testenv.Eventually(t, "bundle", bundleHas(ns, "istio-ingressgateway-certs", entries("gw-cert", src)))
	testenv.Eventually(t, "deployment annotated with the bundle checksum", annotationIsChecksum(ns, dep))
	startGen := dep.Generation

	// Changes that leave the bundle as it is: the source's metadata, a
	// new non-matching TLS Secret, an extra selector matching nothing.
	update(t, src, func(s *corev1.Secret) { s.Annotations = map[string]string{"touched": "yes"} })
	tlsSecret(t, ns, "unrelated", nil, farFuture, "unrelated.example.com")
	update(t, cm, func(m *edgecertv1alpha1.CertMerge) {
		m.Spec.Selectors = append(m.Spec.Selectors, edgecertv1alpha1.SecretSelector{LabelSelector: metav1.LabelSelector{MatchLabels: map[string]string{"nothing": "matches"}}})
	})
	testenv.Eventually(t, "spec change observed", conditionIs(cm, func() *edgecertv1alpha1.CertMergeStatus { return &cm.Status }, edgecertv1alpha1.ReadyCondition, metav1.ConditionTrue, ""))

	// Then one real change.
	newCert, newKey := keyPair(farFuture.Add(time.Hour), "gw.example.com")
	update(t, src, func(s *corev1.Secret) {
		s.Data = map[string][]byte{corev1.TLSCertKey: newCert, corev1.TLSPrivateKeyKey: newKey}
	})
	testenv.Eventually(t, "bundle renewed", bundleHas(ns, "istio-ingressgateway-certs", entries("gw-cert", src)))
	testenv.Eventually(t, "deployment annotated with the new checksum", annotationIsChecksum(ns, dep))
	if dep.Generation != startGen+1 {
		t.Errorf("deployment generation went from %d to %d, want exactly one pod template change", startGen, dep.Generation)
	}

	// The window closes once edgecert has handled all of the above: one
	// more spec change, which changes nothing in the bundle, observed.
	update(t, cm, func(m *edgecertv1alpha1.CertMerge) {
		m.Spec.Selectors = append(m.Spec.Selectors, edgecertv1alpha1.SecretSelector{LabelSelector: metav1.LabelSelector{MatchLabels: map[string]string{"nothing": "either"}}})
	})
	testenv.Eventually(t, "last spec change observed", conditionIs(cm, func() *edgecertv1alpha1.CertMergeStatus { return &cm.Status }, edgecertv1alpha1.ReadyCondition, metav1.ConditionTrue, ""))

	// Every successful write to the workload and to the bundle over the
	// whole test, from the API server's audit log: the test creates the
	// Deployment, edgecert annotates it twice (the first bundle, the
	// renewal); edgecert creates the bundle and updates it once (the
	// renewal). The changes that leave the bundle as it is write nothing.
	got := map[string][]string{}
	for _, w := range bed.ControlPlane.AuditWritesIn(t, ns, "audit-marker") {
		if w.Code < 300 && (w.Resource == "deployments" && w.Name == dep.Name || w.Resource == "secrets" && w.Name == "istio-ingressgateway-certs") {
			key := w.Resource + "/" + w.Name
			if w.Subresource != "" {
				key += "/" + w.Subresource
			}
			got[key] = append(got[key], w.Verb)
		}
	}
	want := map[string][]string{
		"deployments/istio-ingressgateway":   {"create", "patch", "patch"},
		"secrets/istio-ingressgateway-certs": {"create", "update"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("writes over the test (-want +got):\n%s", diff)
	}
}

func annotationIsChecksum(ns string, dep *appsv1.Deployment) func() (bool, string) {
	return func() (bool, string) {
		b, err := getSecret(ns, "istio-ingressgateway-certs")
		if err != nil {
			return false, err.Error()
		}
		if err := c().Get(context.Background(), client.ObjectKeyFromObject(dep), dep); err != nil {
			return false, err.Error()
		}
		want := bundle.BundleChecksum(b.Data)
		if got := dep.Spec.Template.Annotations[certmerge.ChecksumAnnotation]; got != want {
			return false, fmt.Sprintf("pod template annotation = %q, want %q", got, want)
		}
		return true, ""
	}
}

func TestDeletingTheCertMergeRemovesTheBundle(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "delete")
	src := tlsSecret(t, ns, "src", nil, farFuture, "src.example.com")
	cm := certMerge(ns, "gone", "bundle", edgecertv1alpha1.BundleSources{Secrets: []edgecertv1alpha1.SecretSource{{Name: "src"}}})
	create(t, cm)
	testenv.Eventually(t, "bundle", bundleHas(ns, "bundle", entries("src", src)))
	if err := c().Delete(ctx, cm); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "bundle deleted", func() (bool, string) {
		if _, err := getSecret(ns, "bundle"); !apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("bundle still there (err %v)", err)
		}
		if err := c().Get(ctx, client.ObjectKeyFromObject(cm), cm); !apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("CertMerge still there (err %v)", err)
		}
		return true, ""
	})
	if _, err := getSecret(ns, "src"); err != nil {
		t.Errorf("source Secret: %v, want it untouched", err)
	}
}

func TestForeignSecretIsNotOverwritten(t *testing.T) {
	ns := namespace(t, "foreign")
	tlsSecret(t, ns, "src", nil, farFuture, "src.example.com")
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"}, StringData: map[string]string{"mine": "keep"}})
	cm := certMerge(ns, "foreign", "taken", edgecertv1alpha1.BundleSources{Secrets: []edgecertv1alpha1.SecretSource{{Name: "src"}}})
	create(t, cm)
	testenv.Eventually(t, "Stalled", conditionIs(cm, func() *edgecertv1alpha1.CertMergeStatus { return &cm.Status }, edgecertv1alpha1.StalledCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonSecretNotOwned))
	if s := mustSecret(t, ns, "taken"); string(s.Data["mine"]) != "keep" || len(s.Data) != 1 {
		t.Errorf("foreign Secret data changed: %v", keys(s.Data))
	}
}

func TestAPIRejectsInvalidSpecs(t *testing.T) {
	ns := namespace(t, "invalid")
	tests := map[string]edgecertv1alpha1.BundleSources{
		"template without {name}": {KeyTemplate: "{namespace}", Secrets: []edgecertv1alpha1.SecretSource{{Name: "a"}}},
		"template with a slash":   {KeyTemplate: "{namespace}/{name}", Secrets: []edgecertv1alpha1.SecretSource{{Name: "a"}}},
		"no source":               {},
		"unknown workload kind":   {Secrets: []edgecertv1alpha1.SecretSource{{Name: "a"}}, Workloads: []edgecertv1alpha1.WorkloadReference{{Kind: "Pod", Name: "x"}}},
	}
	for name, sources := range tests {
		t.Run(name, func(t *testing.T) {
			err := c().Create(context.Background(), certMerge(ns, "x", "bundle", sources))
			if !apierrors.IsInvalid(err) {
				t.Fatalf("create = %v, want Invalid", err)
			}
		})
	}
	cm := certMerge(ns, "immutable", "bundle", edgecertv1alpha1.BundleSources{Secrets: []edgecertv1alpha1.SecretSource{{Name: "a"}}})
	create(t, cm)
	testenv.Eventually(t, "secretName change refused", func() (bool, string) {
		if err := c().Get(context.Background(), client.ObjectKeyFromObject(cm), cm); err != nil {
			return false, err.Error()
		}
		cm.Spec.SecretName = "other"
		if err := c().Update(context.Background(), cm); !apierrors.IsInvalid(err) {
			return false, fmt.Sprintf("changing secretName = %v, want Invalid", err)
		}
		return true, ""
	})
}

// The samples are what docs/bundle.md tells users to apply: the real
// API server must accept them (CRD schemas, CEL rules, Istio's schema).
func TestSamplesAreAccepted(t *testing.T) {
	ctx := context.Background()
	for _, ns := range []string{"istio-system", "team-a"} {
		if err := c().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	for _, file := range []string{"certmerge_istio_ingressgateway.yaml", "certmerge_cross_namespace.yaml"} {
		data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "samples", file))
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(data), "\n---\n") {
			var obj unstructured.Unstructured
			if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
				t.Fatalf("%s document %d: %v", file, i, err)
			}
			if err := c().Create(ctx, &obj, client.DryRunAll); err != nil {
				t.Errorf("%s document %d (%s %s): %v", file, i, obj.GetKind(), obj.GetName(), err)
			}
		}
	}
}
