package security

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
)

// Issue 12, item 8: CertMerge. The platform team's CertMerge in its gateway
// namespace merges the TLS Secrets labelled certmerge=true of the tenant
// namespaces that grant it. A tenant acts with its own user, which may
// only write Secrets and CertMergeGrants in its own namespace (and, for
// the last test, CertMerges).

// tenantRules is what a tenant may do in its namespace.
var tenantRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"edgecert.dev"}, Resources: []string{"certmergegrants", "certmerges"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
}

// tenant is a client for user name, bound by a Role to tenantRules in
// namespace ns and to nothing else.
func tenant(t *testing.T, name, ns string) client.Client {
	t.Helper()
	ctx := context.Background()
	admin := bed.ControlPlane.Client
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"}, Rules: tenantRules}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "tenant"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := admin.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := bed.ControlPlane.UserConfig(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: admin.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mergeTLS is a TLS Secret labelled for the platform's CertMerge.
func mergeTLS(ns, name string, cert, key []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"certmerge": "true"}},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key},
	}
}

// grantGateway is a tenant's consent to the gateway namespace's merges.
func grantGateway(ns, gw string) *edgecertv1alpha1.CertMergeGrant {
	return &edgecertv1alpha1.CertMergeGrant{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gateway"},
		Spec: edgecertv1alpha1.CertMergeGrantSpec{From: []edgecertv1alpha1.CertMergeGrantFrom{{Namespace: gw}}}}
}

// platformMerge is the platform team's CertMerge in gw over the labelled
// TLS Secrets of nss.
func platformMerge(t *testing.T, gw string, nss ...string) *edgecertv1alpha1.CertMerge {
	t.Helper()
	cm := &edgecertv1alpha1.CertMerge{
		ObjectMeta: metav1.ObjectMeta{Namespace: gw, Name: "ingress"},
		Spec: edgecertv1alpha1.CertMergeSpec{SecretName: "istio-ingressgateway-certs", BundleSources: edgecertv1alpha1.BundleSources{
			Selectors: []edgecertv1alpha1.SecretSelector{{Namespaces: nss, LabelSelector: metav1.LabelSelector{MatchLabels: map[string]string{"certmerge": "true"}}}},
		}},
	}
	if err := bed.ControlPlane.Client.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	return cm
}

// bundleIs waits until the bundle in gw holds exactly these entries.
func bundleIs(t *testing.T, gw, name, what string, want map[string][]byte) {
	t.Helper()
	testenv.Eventually(t, what, func() (bool, string) {
		var b corev1.Secret
		if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: gw, Name: name}, &b); err != nil {
			return false, err.Error()
		}
		if len(b.Data) != len(want) {
			return false, fmt.Sprintf("bundle has %d entries, want %d", len(b.Data), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(b.Data[k], v) {
				return false, fmt.Sprintf("bundle entry %q is not as expected", k)
			}
		}
		return true, ""
	})
}

// bundleHolds reports whether any entry of the bundle contains data.
func bundleHolds(t *testing.T, gw, name string, data []byte) bool {
	t.Helper()
	var b corev1.Secret
	if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: gw, Name: name}, &b); err != nil {
		t.Fatal(err)
	}
	for _, v := range b.Data {
		if bytes.Contains(v, data) {
			return true
		}
	}
	return false
}

// mergeReason waits until the merge's Ready condition has reason and its
// excluded list is want (name → reason).
func mergeReason(t *testing.T, cm *edgecertv1alpha1.CertMerge, reason string, want map[string]string) {
	t.Helper()
	testenv.Eventually(t, "Ready reason "+reason, func() (bool, string) {
		if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKeyFromObject(cm), cm); err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(cm.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		if c == nil || c.Reason != reason || c.ObservedGeneration != cm.Generation {
			return false, fmt.Sprintf("Ready = %+v", c)
		}
		got := map[string]string{}
		for _, e := range cm.Status.Excluded {
			got[e.Namespace+"/"+e.Name] = e.Reason
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return false, fmt.Sprintf("excluded = %v, want %v", got, want)
		}
		return true, ""
	})
}

// nothingElse checks what must not happen on any path: no order reached
// Pebble since ordersBefore, no TXT record for the victim's host, and the
// only Secret writes in the victim's namespace are the victim's own
// (victimWrites, counted by the test).
func nothingElse(t *testing.T, ordersBefore int, victimNS string, victimWrites int) {
	t.Helper()
	if n := orders(t); n != ordersBefore {
		t.Errorf("Pebble received %d orders during the test, want none", n-ordersBefore)
	}
	noTXT(t, host("web-victim"))
	if n := writesIn(t, victimNS, "secrets"); n != victimWrites {
		t.Errorf("%d Secret writes in the victim's namespace, want the victim's own %d", n, victimWrites)
	}
}

func keyPair(hosts ...string) (cert, key []byte) {
	now := time.Now()
	return testenv.SelfSigned(now.Add(-time.Hour), now.Add(60*24*time.Hour), hosts...)
}

// A tenant revokes its consent, or deletes its Secret: its key leaves the
// gateway's bundle at once, even though another tenant keeps a bad Secret
// of the same name, whose entries would be the same (the old code kept
// "last good data" by entry name, so the revoked key stayed).
func TestCertMergeRevokedOrRemovedSourceLeavesTheBundle(t *testing.T) {
	ctx := context.Background()
	startController(t, namespace(t, "edgecert"))
	ordersBefore := orders(t)
	gw, victimNS, otherNS := namespace(t, "gateway"), namespace(t, "victim"), namespace(t, "other")
	victim, other := tenant(t, "victim", victimNS), tenant(t, "other", otherNS)

	cert, key := keyPair(host("web-victim"))
	web := mergeTLS(victimNS, "web", cert, key)
	for _, step := range []struct {
		c   client.Client
		obj client.Object
	}{
		{victim, web}, {victim, grantGateway(victimNS, gw)},
		{other, grantGateway(otherNS, gw)},
		// The other tenant's Secret maps to the same entries, web.crt and
		// web.key, and holds no valid pair.
		{other, mergeTLS(otherNS, "web", []byte("-----BEGIN CERTIFICATE-----\nnot yet"), []byte("not yet"))},
	} {
		if err := step.c.Create(ctx, step.obj); err != nil {
			t.Fatal(err)
		}
	}
	cm := platformMerge(t, gw, victimNS, otherNS)
	bundleIs(t, gw, cm.Spec.SecretName, "the victim's key in the bundle", map[string][]byte{"web.crt": cert, "web.key": key})

	// The victim revokes its grant.
	if err := victim.Delete(ctx, grantGateway(victimNS, gw)); err != nil {
		t.Fatal(err)
	}
	bundleIs(t, gw, cm.Spec.SecretName, "the revoked key gone", map[string][]byte{})
	mergeReason(t, cm, edgecertv1alpha1.ReasonSourcesExcluded, map[string]string{victimNS + "/*": "NotPermitted", otherNS + "/web": "InvalidCertificate"})
	if bundleHolds(t, gw, cm.Spec.SecretName, key) {
		t.Error("the bundle still holds the victim's key after the grant was revoked")
	}

	// Granted again, then the victim deletes its Secret.
	if err := victim.Create(ctx, grantGateway(victimNS, gw)); err != nil {
		t.Fatal(err)
	}
	bundleIs(t, gw, cm.Spec.SecretName, "the victim's key back", map[string][]byte{"web.crt": cert, "web.key": key})
	if err := victim.Delete(ctx, web); err != nil {
		t.Fatal(err)
	}
	bundleIs(t, gw, cm.Spec.SecretName, "the deleted Secret's key gone", map[string][]byte{})
	mergeReason(t, cm, edgecertv1alpha1.ReasonSourcesExcluded, map[string]string{otherNS + "/web": "InvalidCertificate"})
	// The victim created and deleted web.
	nothingElse(t, ordersBefore, victimNS, 2)
}

// longChain is a key pair for host whose tls.crt is the leaf and about
// 300 KiB of filler certificates, as a long chain would be.
func longChain(host string) (cert, key []byte) {
	filler, _ := keyPair("filler.example")
	cert, key = keyPair(host)
	return append(cert, bytes.Repeat(filler, 300<<10/len(filler))...), key
}

// A tenant floods the bundle with long chains. Without a budget the
// bundle would pass the 1 MiB Secret limit, every update would fail and
// the victim's renewal would never reach the gateway. With it, the
// sources that do not fit are reported (BundleTooLarge), and the victim's
// certificate, already in the bundle, keeps its place although the
// flood's namespace comes first in name order, and its renewal lands.
func TestCertMergeFloodKeepsRenewalsReachingTheGateway(t *testing.T) {
	ctx := context.Background()
	startController(t, namespace(t, "edgecert"))
	ordersBefore := orders(t)
	gw, victimNS, floodNS := namespace(t, "gateway"), namespace(t, "victim"), namespace(t, "a-flood")
	victim, flood := tenant(t, "victim", victimNS), tenant(t, "flood", floodNS)

	// The victim's chain is long too: 300 KiB of the 960 KiB budget.
	cert, key := longChain(host("web-victim"))
	web := mergeTLS(victimNS, "web", cert, key)
	for _, step := range []struct {
		c   client.Client
		obj client.Object
	}{{victim, web}, {victim, grantGateway(victimNS, gw)}} {
		if err := step.c.Create(ctx, step.obj); err != nil {
			t.Fatal(err)
		}
	}
	cm := platformMerge(t, gw, floodNS, victimNS)
	bundleIs(t, gw, cm.Spec.SecretName, "the victim's certificate in the bundle", map[string][]byte{"web.crt": cert, "web.key": key})

	// Four more chains of 300 KiB: 1.5 MiB in all. Two fit next to the
	// victim's; in plain namespace/name order the flood's first three
	// would fill the budget and push the victim's out. The flood grants
	// the gateway once its Secrets are all there, so that one pass sees
	// them all (client-go's event recorder folds a later event of the same
	// reason and object into the first one's series, keeping its note).
	want := map[string][]byte{"web.crt": cert, "web.key": key}
	for _, name := range []string{"f0", "f1", "f2", "f3"} {
		c, k := longChain(host(name))
		if err := flood.Create(ctx, mergeTLS(floodNS, name, c, k)); err != nil {
			t.Fatal(err)
		}
		if name == "f0" || name == "f1" {
			want[name+".crt"], want[name+".key"] = c, k
		}
	}
	if err := flood.Create(ctx, grantGateway(floodNS, gw)); err != nil {
		t.Fatal(err)
	}
	bundleIs(t, gw, cm.Spec.SecretName, "the victim's and two of the flood's in the bundle", want)
	mergeReason(t, cm, edgecertv1alpha1.ReasonBundleTooLarge, map[string]string{floodNS + "/f2": "BundleTooLarge", floodNS + "/f3": "BundleTooLarge"})
	bed.ControlPlane.ExpectEvent(t, cm, edgecertv1alpha1.ReasonBundleTooLarge, floodNS+"/f2, "+floodNS+"/f3")

	// The victim renews: the new certificate reaches the bundle.
	newCert, newKey := longChain(host("web-victim"))
	web.Data = map[string][]byte{corev1.TLSCertKey: newCert, corev1.TLSPrivateKeyKey: newKey}
	if err := victim.Update(ctx, web); err != nil {
		t.Fatal(err)
	}
	want["web.crt"], want["web.key"] = newCert, newKey
	bundleIs(t, gw, cm.Spec.SecretName, "the victim's renewal in the bundle", want)
	if bundleHolds(t, gw, cm.Spec.SecretName, key) {
		t.Error("the bundle still holds the victim's old key")
	}
	// The victim created and renewed web.
	nothingElse(t, ordersBefore, victimNS, 2)
}

// A tenant allowed to merge another namespace's TLS Secrets names one that
// is not TLS, an Opaque Secret holding a database password. It is refused
// by its type, which edgecert reads without the data: the password is in
// neither the bundle, the merge's status, its events nor edgecert's log.
func TestCertMergeNamedSecretOfAnotherTypeIsRefusedUnread(t *testing.T) {
	ctx := context.Background()
	ctrl := startController(t, namespace(t, "edgecert"))
	ordersBefore := orders(t)
	attackerNS, victimNS := namespace(t, "attacker"), namespace(t, "victim")
	attacker, victim := tenant(t, "attacker", attackerNS), tenant(t, "victim", victimNS)

	password := []byte("db-password-" + victimNS)
	cert, key := keyPair(host("web-victim"))
	for _, obj := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: victimNS, Name: "db"}, Data: map[string][]byte{"password": password}},
		mergeTLS(victimNS, "web", cert, key),
		// The victim lets the attacker's merges read its TLS Secrets.
		&edgecertv1alpha1.CertMergeGrant{ObjectMeta: metav1.ObjectMeta{Namespace: victimNS, Name: "attacker"},
			Spec: edgecertv1alpha1.CertMergeGrantSpec{From: []edgecertv1alpha1.CertMergeGrantFrom{{Namespace: attackerNS}}}},
	} {
		if err := victim.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	cm := &edgecertv1alpha1.CertMerge{
		ObjectMeta: metav1.ObjectMeta{Namespace: attackerNS, Name: "loot"},
		Spec: edgecertv1alpha1.CertMergeSpec{SecretName: "loot", BundleSources: edgecertv1alpha1.BundleSources{
			Secrets: []edgecertv1alpha1.SecretSource{{Namespace: victimNS, Name: "db"}, {Namespace: victimNS, Name: "web"}},
		}},
	}
	if err := attacker.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	bundleIs(t, attackerNS, "loot", "the granted TLS Secret in the bundle", map[string][]byte{"web.crt": cert, "web.key": key})
	mergeReason(t, cm, edgecertv1alpha1.ReasonSourcesExcluded, map[string]string{victimNS + "/db": "NotTLS"})
	if got, want := cm.Status.Excluded[0].Message, victimNS+`/db: type is "Opaque", not kubernetes.io/tls; edgecert does not read its data`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}

	if bundleHolds(t, attackerNS, "loot", password) {
		t.Error("the bundle holds the password")
	}
	st, err := json.Marshal(cm.Status)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(st, password) {
		t.Error("the CertMerge's status holds the password")
	}
	var events corev1.EventList
	if err := bed.ControlPlane.Client.List(ctx, &events, client.InNamespace(attackerNS)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if bytes.Contains([]byte(e.Message), password) {
			t.Errorf("event %s holds the password", e.Name)
		}
	}
	log, err := os.ReadFile(ctrl.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log, password) {
		t.Error("edgecert's log holds the password")
	}
	noSecret(t, victimNS, "loot")
	// The victim created db and web.
	nothingElse(t, ordersBefore, victimNS, 2)
}
