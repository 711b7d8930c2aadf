package certmerge

import (
	"context"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgecert/edgecert/internal/bundle"
)

// ReadNamedSources reads Secrets named in a CertMerge of namespace ns as
// the reconciler does, through the readers given, so that a test can see
// every byte the API server sends edgecert.
func ReadNamedSources(ctx context.Context, api client.Reader, core rest.Interface, ns string, names ...bundle.Ref) (bundle.Input, error) {
	sel, err := bundle.NewSelection(ns, names, nil)
	if err != nil {
		return bundle.Input{}, err
	}
	access := bundle.Access{Requester: bundle.Requester{Namespace: ns, Name: "reader"}}
	return sourceReader{API: api, Core: core}.read(ctx, sel, access)
}
