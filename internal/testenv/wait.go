package testenv

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WaitReady waits until n objects of list's kind (selected by opts) are
// ready, watching them: a benchmark that polled the whole list every few
// milliseconds would cost the API server more than the controller it
// measures. A watch the API server ends is taken up again after one list.
// It fails tb after timeout.
func (cp *ControlPlane) WaitReady(tb testing.TB, timeout time.Duration, list client.ObjectList, n int, ready func(client.Object) bool, opts ...client.ListOption) {
	tb.Helper()
	wc, err := client.NewWithWatch(cp.Config, client.Options{Scheme: cp.Client.Scheme()})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	seen := map[client.ObjectKey]bool{}
	count := func() int {
		c := 0
		for _, ok := range seen {
			if ok {
				c++
			}
		}
		return c
	}
	record := func(o runtime.Object) {
		if obj, ok := o.(client.Object); ok {
			seen[client.ObjectKeyFromObject(obj)] = ready(obj)
		}
	}
	from := func() string {
		if err := cp.Client.List(ctx, list, opts...); err != nil {
			tb.Fatal(err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			tb.Fatal(err)
		}
		for _, it := range items {
			record(it)
		}
		return list.(metav1.ListMetaAccessor).GetListMeta().GetResourceVersion()
	}
	rv := from()
	for count() < n {
		w, err := wc.Watch(ctx, list, append(opts, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})...)
		if err != nil {
			tb.Fatalf("%d of %d ready: %v", count(), n, err)
		}
		for ev := range w.ResultChan() {
			if obj, ok := ev.Object.(client.Object); ok && ev.Type == watch.Deleted {
				delete(seen, client.ObjectKeyFromObject(obj))
				continue
			}
			record(ev.Object)
			if count() >= n {
				break
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			tb.Fatalf("%d of %d ready after %s", count(), n, timeout)
		}
		if count() < n {
			rv = from()
		}
	}
}
