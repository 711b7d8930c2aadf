package kube

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Istio's kinds that edgecert reads and writes. Every controller handles
// them as unstructured data, so that fields edgecert does not know go back
// exactly as they came whatever Istio version wrote them, and one informer
// per kind serves every controller.
var (
	IstioGatewayGVK        = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "Gateway"}
	IstioVirtualServiceGVK = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
)

// NewUnstructured returns an empty object of gvk with the given namespace
// and name (either may be empty, for a Get or a List).
func NewUnstructured(gvk schema.GroupVersionKind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}
