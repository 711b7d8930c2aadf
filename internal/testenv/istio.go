package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	"github.com/edgecert/edgecert/internal/scheme"
)

// istioScheme names the kinds of typed objects handed to IstioValidate,
// which the API server's client leaves without apiVersion and kind.
var istioScheme = sync.OnceValue(scheme.New)

// IstioValidate runs Istio's own validation over objs: it writes them as
// one YAML file and runs `istioctl validate` (built by `make tools` from
// istio.io/istio at ISTIOCTL_VERSION) on it, offline. It returns nil when
// Istio accepts every object, else an error carrying istioctl's output,
// which is the message istiod's validating webhook gives for the same
// object. Status and managed fields are left out; everything else is
// validated as it is.
func IstioValidate(objs ...client.Object) error {
	istioctl, err := toolPath("istioctl", "ISTIOCTL_VERSION")
	if err != nil {
		return err
	}
	var doc bytes.Buffer
	for _, obj := range objs {
		out, err := istioYAML(obj)
		if err != nil {
			return err
		}
		doc.WriteString("---\n")
		doc.Write(out)
	}
	dir, err := os.MkdirTemp("", "edgecert-istio-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "objects.yaml")
	if err := os.WriteFile(file, doc.Bytes(), 0o600); err != nil {
		return err
	}
	// HOME in the scratch directory: istioctl reads ~/.istioctl/config.yaml
	// and must not pick up a developer's.
	cmd := exec.Command(istioctl, "validate", "--kubeconfig", filepath.Join(dir, "no-kubeconfig"), "-f", file)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return fmt.Errorf("run %s: %w", istioctl, err)
		}
		return fmt.Errorf("istioctl validate refused it (exit %d): %s", ee.ExitCode(), strings.TrimSpace(string(out)))
	}
	return nil
}

// istioYAML is obj as YAML with apiVersion and kind, without status and
// managed fields.
func istioYAML(obj client.Object) ([]byte, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Empty() {
		var err error
		if gvk, err = apiutil.GVKForObject(obj, istioScheme()); err != nil {
			return nil, err
		}
	}
	// JSON first: Istio's typed objects carry protobuf specs that only
	// their own MarshalJSON renders.
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("marshal %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(data, &u.Object); err != nil {
		return nil, err
	}
	u.SetGroupVersionKind(gvk)
	u.SetManagedFields(nil)
	unstructured.RemoveNestedField(u.Object, "status")
	return yaml.Marshal(u.Object)
}

// CheckIstioValid fails the test, with Istio's message, unless Istio's own
// validation (IstioValidate) accepts every object.
func CheckIstioValid(t testing.TB, objs ...client.Object) {
	t.Helper()
	if err := IstioValidate(objs...); err != nil {
		t.Errorf("Istio refuses %s: %v", describe(objs), err)
	}
}

func describe(objs []client.Object) string {
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = fmt.Sprintf("%s/%s (resourceVersion %s)", o.GetNamespace(), o.GetName(), o.GetResourceVersion())
	}
	return strings.Join(names, ", ")
}

// IstioRecorder keeps every version of the Istio Gateways and
// VirtualServices in one namespace, as the API server stored them, so that
// a test can have Istio judge each one: not only the versions the test
// happened to read, but every one a controller wrote on the way.
type IstioRecorder struct {
	namespace string
	watchers  []watch.Interface
	done      sync.WaitGroup

	mu       sync.Mutex
	versions []*unstructured.Unstructured // in the order the API server sent them
	last     map[string]objectState       // by kind/name/uid
}

type objectState struct {
	resourceVersion string
	deleted         bool
}

// ValidateIstioObjects records every version of the Istio Gateways and
// VirtualServices in namespace from now on (and the current ones), and at
// the end of the test runs Istio's own validation over each version
// (IstioValidate), failing the test with Istio's message and the refused
// version.
func (cp *ControlPlane) ValidateIstioObjects(t testing.TB, namespace string) {
	t.Helper()
	wc, err := client.NewWithWatch(cp.Config, client.Options{Scheme: cp.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	r := &IstioRecorder{namespace: namespace, last: map[string]objectState{}}
	ctx, cancel := context.WithCancel(context.Background())
	for _, gvk := range istioKinds {
		// No resourceVersion: the watch begins with the current objects.
		w, err := wc.Watch(ctx, istioList(gvk), client.InNamespace(namespace))
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		r.watchers = append(r.watchers, w)
		r.done.Add(1)
		go r.record(gvk, w)
	}
	t.Cleanup(func() {
		r.catchUp(t, cp)
		cancel()
		for _, w := range r.watchers {
			w.Stop()
		}
		r.done.Wait()
		validateVersions(t, namespace, r.versions)
	})
}

// ValidateIstioObjectsAtEnd has Istio validate the Gateways and
// VirtualServices in namespace as they are at the end of the test, with no
// watch: for benchmarks, where recording hundreds of large versions would
// load the API server being measured.
func (cp *ControlPlane) ValidateIstioObjectsAtEnd(t testing.TB, namespace string) {
	t.Helper()
	t.Cleanup(func() {
		var current []*unstructured.Unstructured
		for _, gvk := range istioKinds {
			list := istioList(gvk)
			if err := cp.Client.List(context.Background(), list, client.InNamespace(namespace)); err != nil {
				t.Error(err)
				return
			}
			for i := range list.Items {
				list.Items[i].SetGroupVersionKind(gvk)
				current = append(current, &list.Items[i])
			}
		}
		validateVersions(t, namespace, current)
	})
}

// istioKinds are the Istio kinds edgecert writes.
var istioKinds = []schema.GroupVersionKind{
	{Group: "networking.istio.io", Version: "v1", Kind: "Gateway"},
	{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"},
}

func istioList(gvk schema.GroupVersionKind) *unstructured.UnstructuredList {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	return list
}

func stateKey(gvk schema.GroupVersionKind, o client.Object) string {
	return gvk.Kind + "/" + o.GetName() + "/" + string(o.GetUID())
}

func (r *IstioRecorder) record(gvk schema.GroupVersionKind, w watch.Interface) {
	defer r.done.Done()
	for ev := range w.ResultChan() {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			continue // an error or bookmark
		}
		r.mu.Lock()
		key := stateKey(gvk, u)
		switch ev.Type {
		case watch.Added, watch.Modified:
			if r.last[key].resourceVersion != u.GetResourceVersion() {
				u.SetGroupVersionKind(gvk)
				r.versions = append(r.versions, u)
			}
			r.last[key] = objectState{resourceVersion: u.GetResourceVersion()}
		case watch.Deleted:
			r.last[key] = objectState{resourceVersion: u.GetResourceVersion(), deleted: true}
		}
		r.mu.Unlock()
	}
}

// catchUp waits until the watches have delivered every version written
// before now: each object that exists has been seen at its current version,
// and each seen object that is gone has been seen deleted. Events of one
// kind arrive in order, so nothing older is still on its way.
func (r *IstioRecorder) catchUp(t testing.TB, cp *ControlPlane) {
	t.Helper()
	Eventually(t, "watches of Istio objects in "+r.namespace+" caught up", func() (bool, string) {
		current := map[string]string{}
		for _, gvk := range istioKinds {
			list := istioList(gvk)
			if err := cp.Client.List(context.Background(), list, client.InNamespace(r.namespace)); err != nil {
				return false, err.Error()
			}
			for i := range list.Items {
				current[stateKey(gvk, &list.Items[i])] = list.Items[i].GetResourceVersion()
			}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for key, rv := range current {
			if s := r.last[key]; s.resourceVersion != rv {
				return false, fmt.Sprintf("%s at resourceVersion %s, seen %q", key, rv, s.resourceVersion)
			}
		}
		for key, s := range r.last {
			if _, exists := current[key]; !exists && !s.deleted {
				return false, key + " is gone and its deletion not seen yet"
			}
		}
		return true, ""
	})
}

// validateVersions has Istio validate versions, all in one run of
// istioctl, and on a refusal finds the first refused version and shows it
// with Istio's message.
func validateVersions(t testing.TB, namespace string, versions []*unstructured.Unstructured) {
	t.Helper()
	if len(versions) == 0 {
		return
	}
	objs := make([]client.Object, len(versions))
	for i, v := range versions {
		objs[i] = v
	}
	err := IstioValidate(objs...)
	if err == nil {
		t.Logf("Istio accepts the %d versions of Gateways and VirtualServices recorded in %s", len(objs), namespace)
		return
	}
	for _, obj := range objs {
		if err := IstioValidate(obj); err != nil {
			out, _ := istioYAML(obj)
			t.Errorf("Istio refuses %s %s/%s at resourceVersion %s (one of %d versions recorded): %v\n%s",
				obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName(), obj.GetResourceVersion(), len(objs), err, out)
			return
		}
	}
	t.Errorf("Istio refuses the %d versions recorded in %s together, and none alone: %v", len(objs), namespace, err)
}
