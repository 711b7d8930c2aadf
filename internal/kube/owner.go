package kube

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// OwnerAnnotation records which edgecert object an object was written for,
// as "Kind/namespace/name/uid" (namespace empty for a cluster-scoped
// owner). edgecert decides that an object is its own from this annotation
// or from a controller reference to one of its kinds, checked against the
// owner's UID and against the owner naming the object (a Certificate's
// secretName, a GatewayService's copy name, ...), never from
// ManagedByLabel, which anyone who can write the object can set. An
// annotation rather than an owner reference where an owner reference
// would change what the garbage collector deletes: a Certificate's Secret
// stays when the Certificate goes (docs/design/2026-11-30-ownership.md).
const OwnerAnnotation = "edgecert.dev/owner"

// Owner names the edgecert object an object was written for.
type Owner struct {
	Kind      string
	Namespace string
	Name      string
	UID       types.UID
}

// OwnerFor is owner's record, for OwnerAnnotation.
func OwnerFor(kind string, owner metav1.Object) Owner {
	return Owner{Kind: kind, Namespace: owner.GetNamespace(), Name: owner.GetName(), UID: owner.GetUID()}
}

// String is the annotation's value.
func (o Owner) String() string {
	return o.Kind + "/" + o.Namespace + "/" + o.Name + "/" + string(o.UID)
}

// ParseOwner reads an OwnerAnnotation value; ok is false when it is not one.
func ParseOwner(s string) (Owner, bool) {
	parts := strings.Split(s, "/")
	if len(parts) != 4 || parts[0] == "" || parts[2] == "" || parts[3] == "" {
		return Owner{}, false
	}
	return Owner{Kind: parts[0], Namespace: parts[1], Name: parts[2], UID: types.UID(parts[3])}, true
}

// OwnerOf returns the edgecert object obj says it was written for: its
// OwnerAnnotation, or else its controller reference to an edgecert.dev
// kind (a namespaced owner is in obj's namespace: the API server allows
// no other). What it returns is a claim: OwnedBy checks it against the
// owner.
func OwnerOf(obj metav1.Object) (Owner, bool) {
	if o, ok := ParseOwner(obj.GetAnnotations()[OwnerAnnotation]); ok {
		return o, true
	}
	ref := metav1.GetControllerOfNoCopy(obj)
	if ref == nil {
		return Owner{}, false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || gv.Group != edgecertv1alpha1.GroupVersion.Group {
		return Owner{}, false
	}
	ns := obj.GetNamespace()
	if clusterScopedKinds[ref.Kind] {
		ns = ""
	}
	return Owner{Kind: ref.Kind, Namespace: ns, Name: ref.Name, UID: ref.UID}, true
}

// clusterScopedKinds are edgecert's kinds without a namespace.
var clusterScopedKinds = map[string]bool{"ClusterIssuer": true, "ClusterCertMerge": true, "GatewayPolicy": true}

// OwnedBy reports whether obj says it was written for owner, of kind, by
// UID. A UID is not reused, so an object written for a deleted owner is
// not taken for the object of a new owner of the same name.
func OwnedBy(obj metav1.Object, kind string, owner client.Object) bool {
	o, ok := OwnerOf(obj)
	return ok && o.Kind == kind && o.Name == owner.GetName() && o.Namespace == owner.GetNamespace() && o.UID == owner.GetUID()
}

// SetOwner records owner in obj's OwnerAnnotation.
func SetOwner(annotations map[string]string, kind string, owner metav1.Object) map[string]string {
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[OwnerAnnotation] = OwnerFor(kind, owner).String()
	return annotations
}
