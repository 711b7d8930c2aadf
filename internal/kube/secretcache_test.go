package kube_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/testenv"
)

// metadataCache is a cache configured as the manager's: the metadata of
// Secrets labelled app.kubernetes.io/managed-by=edgecert, trimmed by
// SecretMetadataTransform, and edgecert's kinds.
func metadataCache(t *testing.T) cache.Cache {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c, err := cache.New(bed.ControlPlane.Config, cache.Options{Scheme: bed.ControlPlane.Client.Scheme(), ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: {
			Label:     labels.SelectorFromSet(labels.Set{"app.kubernetes.io/managed-by": "edgecert"}),
			Transform: kube.SecretMetadataTransform([]string{"app.kubernetes.io/managed-by"}, []string{"edgecert.dev/owner"}),
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range []client.Object{kube.NewSecretMetadata(), &edgecertv1alpha1.Certificate{}} {
		if _, err := c.GetInformer(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	return c
}

// A tenant's labelled Secret, however large, costs the cache its trimmed
// metadata only, and its data is never kept, while the Secret edgecert
// wrote for a Certificate is. Reads return the API server's Secret either
// way.
func TestSecretCacheKeepsOnlyTheDataOfSecretsEdgecertWrote(t *testing.T) {
	ctx := context.Background()
	admin := bed.ControlPlane.Client
	ns, err := bed.ControlPlane.CreateNamespace(ctx, "secretcache")
	if err != nil {
		t.Fatal(err)
	}
	cert := &edgecertv1alpha1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec:       edgecertv1alpha1.CertificateSpec{DNSNames: []string{"web.example.com"}, SecretName: "web-tls", IssuerRef: edgecertv1alpha1.IssuerReference{Name: "acme"}},
	}
	if err := admin.Create(ctx, cert); err != nil {
		t.Fatal(err)
	}
	owner := "Certificate/" + ns + "/web/" + string(cert.UID)
	big := bytes.Repeat([]byte("x"), 512<<10)
	secrets := []*corev1.Secret{
		// Written for the Certificate, which names it.
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-tls", Labels: map[string]string{"app.kubernetes.io/managed-by": "edgecert"},
			Annotations: map[string]string{"edgecert.dev/owner": owner}}, Data: map[string][]byte{"tls.crt": []byte("edgecert's")}},
		// A tenant's, labelled, with a large annotation and labels of its own.
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "labelled", Labels: map[string]string{"app.kubernetes.io/managed-by": "edgecert", "team": "a"},
			Annotations: map[string]string{"note": strings.Repeat("y", 200<<10)}}, Data: map[string][]byte{"blob": big}},
		// A tenant's, with the Certificate's owner annotation copied: the
		// Certificate does not name it.
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "copied-owner", Labels: map[string]string{"app.kubernetes.io/managed-by": "edgecert"},
			Annotations: map[string]string{"edgecert.dev/owner": owner}}, Data: map[string][]byte{"blob": big}},
		// Not labelled: not in the cache at all.
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unlabelled"}, Data: map[string][]byte{"k": []byte("v")}},
	}
	for _, s := range secrets {
		if err := admin.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	meta := metadataCache(t)
	sc := &kube.SecretCache{Meta: meta, API: admin, Owned: kube.SecretOwner(meta, "")}

	testenv.Eventually(t, "the labelled Secrets' metadata in the cache", func() (bool, string) {
		for _, name := range []string{"web-tls", "labelled", "copied-owner"} {
			if err := meta.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, kube.NewSecretMetadata()); err != nil {
				return false, name + ": " + err.Error()
			}
		}
		return true, ""
	})
	m := kube.NewSecretMetadata()
	if err := meta.Get(ctx, types.NamespacedName{Namespace: ns, Name: "labelled"}, m); err != nil {
		t.Fatal(err)
	}
	if m.Labels != nil || m.Annotations != nil || m.ManagedFields != nil || m.UID == "" || m.ResourceVersion == "" {
		t.Errorf("cached metadata of the tenant's Secret: labels %v, annotations %d, managed fields %d, uid %q, resourceVersion %q; want no labels, annotations or managed fields, a UID and a resourceVersion",
			m.Labels, len(m.Annotations), len(m.ManagedFields), m.UID, m.ResourceVersion)
	}
	owned := kube.NewSecretMetadata()
	if err := meta.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web-tls"}, owned); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"app.kubernetes.io/managed-by": "edgecert"}, owned.Labels); diff != "" || owned.Annotations["edgecert.dev/owner"] != owner || len(owned.Annotations) != 1 {
		t.Errorf("cached metadata of edgecert's Secret: annotations %v, labels (-want +got):\n%s", owned.Annotations, diff)
	}

	for _, s := range secrets[:3] {
		var got corev1.Secret
		if err := sc.Get(ctx, client.ObjectKeyFromObject(s), &got); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if diff := cmp.Diff(s.Data, got.Data); diff != "" {
			t.Errorf("Secret %s data (-want +got):\n%.300s", s.Name, diff)
		}
	}
	if err := sc.Get(ctx, types.NamespacedName{Namespace: ns, Name: "unlabelled"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("unlabelled Secret: err = %v, want NotFound (the cache does not know it)", err)
	}
	if got := sc.Len(); got != 1 {
		t.Errorf("Secrets whose data the cache keeps: %d, want 1 (web-tls)", got)
	}
}
