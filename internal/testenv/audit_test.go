package testenv_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
)

// The audited API server (TestMain turns audit on) logs each write once,
// with its verb, resource, subresource, name and status code, and no read.
func TestAuditLogsWritesAndNoReads(t *testing.T) {
	ctx := t.Context()
	c := bed.ControlPlane.Client
	start := time.Now()
	ns, err := bed.ControlPlane.CreateNamespace(ctx, "audit")
	if err != nil {
		t.Fatal(err)
	}

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "audited", Namespace: ns}, Data: map[string]string{"k": "v"}}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	before := cm.DeepCopy()
	cm.Data["k"] = "w"
	if err := c.Patch(ctx, cm, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
	var list corev1.ConfigMapList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, cm); err != nil {
		t.Fatal(err)
	}
	// With generateName, the name is not in the request body.
	if err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "generated-", Namespace: ns}}); err != nil {
		t.Fatal(err)
	}

	cert := &edgecertv1alpha1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: edgecertv1alpha1.CertificateSpec{
			DNSNames:   []string{"shop.example.test"},
			SecretName: "shop-tls",
			IssuerRef:  edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.ClusterIssuerKind, Name: "letsencrypt"},
		},
	}
	if err := c.Create(ctx, cert); err != nil {
		t.Fatal(err)
	}
	before2 := cert.DeepCopy()
	cert.Status.ObservedGeneration = cert.Generation
	cert.Status.Revision = 1
	if err := c.Status().Patch(ctx, cert, client.MergeFrom(before2)); err != nil {
		t.Fatal(err)
	}

	type record struct {
		Verb, Resource, Subresource, Name string
		Code                              int
	}
	want := []record{
		{"create", "configmaps", "", "audited", 201},
		{"patch", "configmaps", "", "audited", 200},
		{"delete", "configmaps", "", "audited", 200},
		{"create", "configmaps", "", "", 201},
		{"create", "certificates", "", "shop", 201},
		{"patch", "certificates", "status", "shop", 200},
	}
	var ws []testenv.AuditWrite
	testenv.Eventually(t, "audit records of the writes in "+ns, func() (bool, string) {
		if ws, err = bed.ControlPlane.AuditWrites(); err != nil {
			return false, err.Error()
		}
		var got []record
		for _, w := range ws {
			if w.Namespace == ns {
				got = append(got, record{w.Verb, w.Resource, w.Subresource, w.Name, w.Code})
			}
		}
		diff := cmp.Diff(want, got)
		return diff == "", diff
	})
	end := time.Now()
	for _, w := range ws {
		if w.Namespace == ns && (w.User != "admin" || w.Time.Before(start.Add(-time.Second)) || w.Time.After(end)) {
			t.Errorf("record %+v: want user admin and a time between %s and %s", w, start, end)
		}
	}
	reads := testenv.CountWrites(ws, func(w testenv.AuditWrite) bool {
		return slices.Contains([]string{"get", "list", "watch"}, w.Verb)
	})
	if reads != 0 {
		t.Errorf("%d reads in the audit log, want none", reads)
	}
	if n := testenv.CountWrites(ws, func(w testenv.AuditWrite) bool { return w.Namespace == ns && w.Resource == "configmaps" }); n != 4 {
		t.Errorf("CountWrites(configmaps in %s) = %d, want 4", ns, n)
	}

	if _, err := (&testenv.ControlPlane{}).AuditWrites(); err == nil {
		t.Error("AuditWrites on a control plane without audit: no error")
	}
}
