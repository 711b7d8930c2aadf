package certmerge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
	"github.com/edgecert/edgecert/internal/testenv/managertest"
)

var bed *testenv.Bed

// TestMain starts the test bed and edgecert's manager, with the API
// server's audit log on so that tests count the writes to workloads.
func TestMain(m *testing.M) {
	managertest.Main(m, managertest.Options{Bed: testenv.Options{ControlPlane: testenv.ControlPlaneOptions{Audit: true}}}, &bed)
}

func c() client.Client { return bed.ControlPlane.Client }

func namespace(t *testing.T, prefix string) string { t.Helper(); return bed.Namespace(t, prefix) }

var farFuture = time.Now().Add(60 * 24 * time.Hour).Truncate(time.Second).UTC()

// tlsSecret creates a kubernetes.io/tls Secret with a fresh key pair.
func tlsSecret(t *testing.T, ns, name string, lbls map[string]string, notAfter time.Time, hosts ...string) *corev1.Secret {
	t.Helper()
	cert, key := keyPair(notAfter, hosts...)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key},
	}
	if err := c().Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := c().Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// update re-reads obj, applies change and writes it, retrying conflicts.
func update[T client.Object](t *testing.T, obj T, change func(T)) {
	t.Helper()
	ctx := context.Background()
	for range 10 {
		if err := c().Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
		change(obj)
		err := c().Update(ctx, obj)
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			t.Fatal(err)
		}
	}
	t.Fatalf("update %s: too many conflicts", obj.GetName())
}

func getSecret(ns, name string) (*corev1.Secret, error) {
	var s corev1.Secret
	err := c().Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &s)
	return &s, err
}

// bundleHas checks that the bundle holds exactly the entries of these
// sources, each equal to the source's current data.
func bundleHas(ns, name string, entries map[string][]byte) func() (bool, string) {
	return func() (bool, string) {
		b, err := getSecret(ns, name)
		if err != nil {
			return false, err.Error()
		}
		if len(b.Data) != len(entries) {
			return false, fmt.Sprintf("bundle has entries %v, want %v", keys(b.Data), keys(entries))
		}
		for k, v := range entries {
			if string(b.Data[k]) != string(v) {
				return false, fmt.Sprintf("bundle entry %q differs from its source (bundle has %v)", k, keys(b.Data))
			}
		}
		return true, ""
	}
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// entries returns the bundle entries a source maps to under the default
// template.
func entries(base string, s *corev1.Secret) map[string][]byte {
	return map[string][]byte{base + ".crt": s.Data[corev1.TLSCertKey], base + ".key": s.Data[corev1.TLSPrivateKeyKey]}
}

func merged(ms ...map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// conditionIs checks a condition of a CertMerge's or ClusterCertMerge's
// status, and that the status is for the current generation.
func conditionIs(obj client.Object, status func() *edgecertv1alpha1.CertMergeStatus, typ string, want metav1.ConditionStatus, reason string) func() (bool, string) {
	return func() (bool, string) {
		if err := c().Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err.Error()
		}
		st := status()
		c := meta.FindStatusCondition(st.Conditions, typ)
		if c == nil {
			return false, fmt.Sprintf("no %s condition in %+v", typ, st.Conditions)
		}
		if c.Status != want || (reason != "" && c.Reason != reason) {
			return false, fmt.Sprintf("%s = %s (%s: %s), want %s (%s)", typ, c.Status, c.Reason, c.Message, want, reason)
		}
		if c.ObservedGeneration != obj.GetGeneration() {
			return false, fmt.Sprintf("%s is for generation %d, object is at %d", typ, c.ObservedGeneration, obj.GetGeneration())
		}
		return true, ""
	}
}

func certMerge(ns, name, secretName string, sources edgecertv1alpha1.BundleSources) *edgecertv1alpha1.CertMerge {
	return &edgecertv1alpha1.CertMerge{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       edgecertv1alpha1.CertMergeSpec{SecretName: secretName, BundleSources: sources},
	}
}

// keyPair is a self-signed certificate for hosts valid for the 90 days
// up to notAfter, and its key.
func keyPair(notAfter time.Time, hosts ...string) (certPEM, keyPEM []byte) {
	return testenv.SelfSigned(notAfter.Add(-90*24*time.Hour), notAfter, hosts...)
}
