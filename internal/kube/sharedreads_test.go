package kube_test

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgecert/edgecert/internal/kube"
)

// gatedReader holds every read until open is closed, and tells entered
// when the first one starts.
type gatedReader struct {
	client.Reader
	entered, open chan struct{}
	once          sync.Once
}

func (g *gatedReader) Get(ctx context.Context, key types.NamespacedName, obj client.Object, opts ...client.GetOption) error {
	g.once.Do(func() { close(g.entered) })
	<-g.open
	return g.Reader.Get(ctx, key, obj, opts...)
}

// Ten callers reading one Secret while a read of it is in flight cost the
// API server one GET (counted by the API server), and each gets the
// Secret; once that read has returned, the next caller reads again and
// sees a change made meanwhile.
func TestSharedSecretReadsShareOnlyTheReadInFlight(t *testing.T) {
	ctx := context.Background()
	ns, err := bed.ControlPlane.CreateNamespace(ctx, "shared-reads")
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tls"}, Data: map[string][]byte{"v": []byte("1")}}
	if err := bed.ControlPlane.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	gate := &gatedReader{Reader: newReaders(t).admin, entered: make(chan struct{}), open: make(chan struct{})}
	shared := kube.NewSharedSecretReads(gate)
	key := client.ObjectKeyFromObject(secret)
	gets := func() float64 {
		reqs, err := bed.ControlPlane.APIRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return reqs["GET secrets"]
	}
	before := gets()

	const callers = 10
	got := make([]string, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			var s corev1.Secret
			if err := shared.Get(ctx, key, &s); err != nil {
				t.Error(err)
				return
			}
			got[i] = string(s.Data["v"])
		})
	}
	<-gate.entered
	// Let the other callers reach the read in flight; one that came late
	// would make a GET of its own, and the count below would say so.
	time.Sleep(200 * time.Millisecond)
	close(gate.open)
	wg.Wait()
	for i, v := range got {
		if v != "1" {
			t.Errorf("caller %d got %q, want \"1\"", i, v)
		}
	}
	if n := gets() - before; n != 1 {
		t.Errorf("the API server answered %v GETs for %d callers of one read in flight, want 1", n, callers)
	}

	secret.Data["v"] = []byte("2")
	if err := bed.ControlPlane.Client.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	var s corev1.Secret
	if err := shared.Get(ctx, key, &s); err != nil {
		t.Fatal(err)
	}
	if string(s.Data["v"]) != "2" {
		t.Errorf("a read after the shared one returned got %q, want the updated \"2\"", s.Data["v"])
	}
	if n := gets() - before; n != 2 {
		t.Errorf("GETs = %v, want 2", n)
	}
}
