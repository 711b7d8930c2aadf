package certmerge_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/bundle/bundletest"
	"github.com/edgecert/edgecert/internal/manager"
	"github.com/edgecert/edgecert/internal/testenv"
)

var (
	cp  *testenv.ControlPlane
	k8s client.Client
)

// TestMain starts a real API server and edgecert's manager, wired exactly
// as `edgecert controller` wires it, once for the package.
func TestMain(m *testing.M) {
	if isBenchOnly() {
		// Benchmarks start their own control plane and controller process,
		// and print BENCH lines only.
		ctrl.SetLogger(logr.Discard())
		os.Exit(m.Run())
	}
	var err error
	if cp, err = testenv.StartControlPlane(); err != nil {
		fmt.Fprintln(os.Stderr, "start control plane:", err)
		os.Exit(1)
	}
	k8s = cp.Client
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
	opts := manager.DefaultOptions()
	opts.MetricsAddr, opts.ProbeAddr, opts.HTTP01Addr = "0", "0", "0"
	// The leader Lease lives in edgecert's namespace.
	if err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opts.LeaderElectionNamespace}}); err != nil {
		cp.Stop()
		fmt.Fprintln(os.Stderr, "create edgecert's namespace:", err)
		os.Exit(1)
	}
	mgr, err := manager.New(cp.Config, opts)
	if err != nil {
		cp.Stop()
		fmt.Fprintln(os.Stderr, "create manager:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	cp.Stop()
	os.Exit(code)
}

// isBenchOnly is true for `go test -run='^$' -bench=...`: no test runs, so
// the shared control plane is not needed.
func isBenchOnly() bool {
	for _, a := range os.Args[1:] {
		if a == "-test.run=^$" {
			return true
		}
	}
	return false
}

// pollTimeout bounds eventually.
const pollTimeout = 30 * time.Second

// eventually polls check until it returns nil; on timeout the test fails
// with check's last error, which says what differed.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	testenv.Eventually(t, pollTimeout, what, func() (bool, string) {
		err := check()
		return err == nil, fmt.Sprint(err)
	})
}

func namespace(t *testing.T, prefix string) string {
	t.Helper()
	ns, err := cp.CreateNamespace(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

var farFuture = time.Now().Add(60 * 24 * time.Hour).Truncate(time.Second).UTC()

// tlsSecret creates a kubernetes.io/tls Secret with a fresh key pair.
func tlsSecret(t *testing.T, ns, name string, lbls map[string]string, notAfter time.Time, hosts ...string) *corev1.Secret {
	t.Helper()
	cert, key := bundletest.KeyPair(notAfter, hosts...)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key},
	}
	if err := k8s.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// update re-reads obj, applies change and writes it, retrying conflicts.
func update[T client.Object](t *testing.T, obj T, change func(T)) {
	t.Helper()
	ctx := context.Background()
	for range 10 {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
		change(obj)
		err := k8s.Update(ctx, obj)
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
	err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &s)
	return &s, err
}

// bundleHas checks that the bundle holds exactly the entries of these
// sources, each equal to the source's current data.
func bundleHas(ns, name string, entries map[string][]byte) func() error {
	return func() error {
		b, err := getSecret(ns, name)
		if err != nil {
			return err
		}
		if len(b.Data) != len(entries) {
			return fmt.Errorf("bundle has entries %v, want %v", keys(b.Data), keys(entries))
		}
		for k, v := range entries {
			if string(b.Data[k]) != string(v) {
				return fmt.Errorf("bundle entry %q differs from its source (bundle has %v)", k, keys(b.Data))
			}
		}
		return nil
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
func conditionIs(obj client.Object, status func() *edgecertv1alpha1.CertMergeStatus, typ string, want metav1.ConditionStatus, reason string) func() error {
	return func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		st := status()
		c := meta.FindStatusCondition(st.Conditions, typ)
		if c == nil {
			return fmt.Errorf("no %s condition in %+v", typ, st.Conditions)
		}
		if c.Status != want || (reason != "" && c.Reason != reason) {
			return fmt.Errorf("%s = %s (%s: %s), want %s (%s)", typ, c.Status, c.Reason, c.Message, want, reason)
		}
		if c.ObservedGeneration != obj.GetGeneration() {
			return fmt.Errorf("%s is for generation %d, object is at %d", typ, c.ObservedGeneration, obj.GetGeneration())
		}
		return nil
	}
}

func certMerge(ns, name, secretName string, sources edgecertv1alpha1.BundleSources) *edgecertv1alpha1.CertMerge {
	return &edgecertv1alpha1.CertMerge{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       edgecertv1alpha1.CertMergeSpec{SecretName: secretName, BundleSources: sources},
	}
}

var errNotYet = errors.New("not yet")
