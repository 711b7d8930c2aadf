package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// GroupVersion is the API group and version of every edgecert kind.
var GroupVersion = schema.GroupVersion{Group: "edgecert.dev", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the edgecert kinds with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the edgecert kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
