package kube_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/testenv"
)

var bed *testenv.Bed

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{}, &bed)
}

// readers are a cache holding only the Secrets edgecert labelled, as the
// manager's does, a reader that is the API server itself, and one the API
// server refuses everything.
type readers struct {
	cache            client.Reader
	admin, forbidden client.Reader
}

func newReaders(t *testing.T) readers {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cfg := bed.ControlPlane.Config
	c, err := cache.New(cfg, cache.Options{Scheme: bed.ControlPlane.Client.Scheme(), ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{"app.kubernetes.io/managed-by": "edgecert"})},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Inform on Secrets before the cache starts.
	if _, err := c.GetInformer(ctx, &corev1.Secret{}); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	nobodyCfg, err := bed.ControlPlane.UserConfig("nobody")
	if err != nil {
		t.Fatal(err)
	}
	nobody, err := client.New(nobodyCfg, client.Options{Scheme: bed.ControlPlane.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return readers{cache: c, admin: bed.ControlPlane.Client, forbidden: nobody}
}

func TestSecretsGet(t *testing.T) {
	ctx := context.Background()
	r := newReaders(t)
	ns, err := bed.ControlPlane.CreateNamespace(ctx, "secrets")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "edgecerts", Labels: map[string]string{"app.kubernetes.io/managed-by": "edgecert"}}, Data: map[string][]byte{"k": []byte("edgecert's")}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenants"}, Data: map[string][]byte{"k": []byte("a tenant's")}},
	} {
		if err := bed.ControlPlane.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "edgecert's Secret in the cache", func() (bool, string) {
		err := r.cache.Get(ctx, types.NamespacedName{Namespace: ns, Name: "edgecerts"}, &corev1.Secret{})
		return err == nil, errString(err)
	})

	tests := map[string]struct {
		name     string
		uncached client.Reader
		// wantData is the Secret's data; nil for no Secret.
		wantData  map[string][]byte
		wantError func(error) bool
	}{
		// The API server would refuse: the Secret came from the cache.
		"edgecert's Secret, from the cache":             {name: "edgecerts", uncached: r.forbidden, wantData: map[string][]byte{"k": []byte("edgecert's")}},
		"someone else's Secret, from the API server":    {name: "tenants", uncached: r.admin, wantData: map[string][]byte{"k": []byte("a tenant's")}},
		"someone else's Secret, the API server refuses": {name: "tenants", uncached: r.forbidden, wantError: apierrors.IsForbidden},
		"no such Secret": {name: "missing", uncached: r.admin},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := kube.Secrets{Cached: r.cache, Uncached: tc.uncached}
			got, err := s.Get(ctx, types.NamespacedName{Namespace: ns, Name: tc.name})
			switch {
			case tc.wantError != nil:
				if !tc.wantError(err) || got != nil {
					t.Fatalf("got %v, %v; want no Secret and the API server's refusal", got, err)
				}
				return
			case err != nil:
				t.Fatal(err)
			case tc.wantData == nil:
				if got != nil {
					t.Fatalf("got Secret %s/%s, want nil", got.Namespace, got.Name)
				}
				return
			case got == nil:
				t.Fatal("got no Secret")
			}
			if diff := cmp.Diff(tc.wantData, got.Data); diff != "" || got.Name != tc.name {
				t.Errorf("got Secret %s, data (-want +got):\n%s", got.Name, diff)
			}
		})
	}
}

func TestSecretsValue(t *testing.T) {
	ctx := context.Background()
	r := newReaders(t)
	ns, err := bed.ControlPlane.CreateNamespace(ctx, "values")
	if err != nil {
		t.Fatal(err)
	}
	if err := bed.ControlPlane.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "eab"},
		Data: map[string][]byte{"mac": []byte("c2VjcmV0"), "empty": {}}}); err != nil {
		t.Fatal(err)
	}
	s := kube.Secrets{Cached: r.cache, Uncached: r.admin}
	tests := map[string]struct {
		sel       edgecertv1alpha1.SecretKeySelector
		want      string
		wantError string
	}{
		"the value":      {sel: edgecertv1alpha1.SecretKeySelector{Name: "eab", Key: "mac"}, want: "c2VjcmV0"},
		"missing Secret": {sel: edgecertv1alpha1.SecretKeySelector{Name: "nope", Key: "mac"}, wantError: "terminal error: Secret " + ns + "/nope does not exist"},
		"missing key":    {sel: edgecertv1alpha1.SecretKeySelector{Name: "eab", Key: "hmac"}, wantError: "terminal error: Secret " + ns + `/eab has no key "hmac"`},
		"empty value":    {sel: edgecertv1alpha1.SecretKeySelector{Name: "eab", Key: "empty"}, wantError: "terminal error: Secret " + ns + `/eab has no key "empty"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := s.Value(ctx, ns, tc.sel)
			if tc.wantError != "" {
				if err == nil || err.Error() != tc.wantError || !errors.Is(err, reconcile.TerminalError(nil)) {
					t.Fatalf("got %q, %v; want the terminal error %q", got, err, tc.wantError)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
