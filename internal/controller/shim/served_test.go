package shim_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	shimctrl "github.com/edgecert/edgecert/internal/controller/shim"
)

// A shim whose kind the API server does not serve (its CRDs are not
// installed) is left off instead of failing the manager's start.
func TestServedTellsInstalledKindsFromMissingOnes(t *testing.T) {
	mapper := bed.ControlPlane.RESTMapper(t)
	for gvk, want := range map[schema.GroupVersionKind]bool{
		{Group: "networking.istio.io", Version: "v1", Kind: "Gateway"}:                   true,
		{Group: "gateway.networking.k8s.io", Version: "v1beta1", Kind: "ReferenceGrant"}: true,
		{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "ListenerSet"}:         true,
		{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "TLSRoute"}:            true,
		{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "GRPCRoute"}:           true,
		{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "NoSuchKind"}:          false,
		{Group: "not-installed.example.com", Version: "v1", Kind: "Gateway"}:             false,
	} {
		got, err := shimctrl.Served(mapper, gvk)
		if err != nil || got != want {
			t.Errorf("Served(%s) = %v, %v; want %v", gvk, got, err, want)
		}
	}
}
