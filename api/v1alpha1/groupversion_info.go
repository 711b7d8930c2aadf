package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of every edgecert kind.
var GroupVersion = schema.GroupVersion{Group: "edgecert.dev", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the edgecert kinds with a runtime.Scheme.
	SchemeBuilder = &schemeBuilder{}

	// AddToScheme adds the edgecert kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// schemeBuilder collects the kinds each type file registers in its init,
// so that the API package needs only apimachinery (controller-runtime's
// builder, which did this, is meant for other packages).
type schemeBuilder struct {
	objects []runtime.Object
}

// Register adds objects to the group version.
func (b *schemeBuilder) Register(objects ...runtime.Object) {
	b.objects = append(b.objects, objects...)
}

// AddToScheme adds every registered kind to s.
func (b *schemeBuilder) AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, b.objects...)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
