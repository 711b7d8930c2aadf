package shim_test

import (
	"context"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// TestSamplesPassTheAPIServer: the shim samples are accepted by the real
// API server with Istio's and edgecert's CRD schemas (dry run).
func TestSamplesPassTheAPIServer(t *testing.T) {
	ns := newNamespace(t, "samples")
	for _, f := range []string{"shim_istio_gateway.yaml", "shim_ingress_cert_manager.yaml", "shim_clusterissuer_route53.yaml"} {
		t.Run(f, func(t *testing.T) {
			raw, err := os.ReadFile("../../../config/samples/" + f)
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(raw, &u.Object); err != nil {
				t.Fatal(err)
			}
			if u.GetKind() != "ClusterIssuer" {
				u.SetNamespace(ns)
			}
			if err := c().Create(context.Background(), u, client.DryRunAll); err != nil {
				t.Errorf("%s rejected: %v", f, err)
			}
		})
	}
}
