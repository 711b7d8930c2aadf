package bundle

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Ref names a Secret.
type Ref struct {
	Namespace string
	Name      string
}

// String is "namespace/name", the form status messages use.
func (r Ref) String() string { return r.Namespace + "/" + r.Name }

// compareRefs orders by namespace, then name: the order of status lists and
// the collision rule.
func compareRefs(a, b Ref) int {
	if a.Namespace != b.Namespace {
		if a.Namespace < b.Namespace {
			return -1
		}
		return 1
	}
	switch {
	case a.Name < b.Name:
		return -1
	case a.Name > b.Name:
		return 1
	}
	return 0
}

// Selector is a label selector scoped to namespaces.
type Selector struct {
	Namespaces []string
	Labels     labels.Selector
}

// Selection is what a merge asks for: Secrets by name and by selector, with
// namespaces already defaulted to the bundle's.
type Selection struct {
	Names     []Ref
	Selectors []Selector
}

// SelectorSpec is one API selector before defaulting.
type SelectorSpec struct {
	Namespaces    []string
	LabelSelector metav1.LabelSelector
}

// NewSelection builds a Selection from the API's lists, defaulting empty
// namespaces to bundleNamespace. An invalid label selector (an unknown
// operator, a bad value) is an error for the user to fix.
func NewSelection(bundleNamespace string, names []Ref, selectors []SelectorSpec) (Selection, error) {
	var s Selection
	for _, n := range names {
		if n.Namespace == "" {
			n.Namespace = bundleNamespace
		}
		s.Names = append(s.Names, n)
	}
	for i, spec := range selectors {
		sel, err := metav1.LabelSelectorAsSelector(&spec.LabelSelector)
		if err != nil {
			return Selection{}, fmt.Errorf("selectors[%d].labelSelector: %w", i, err)
		}
		nss := slices.Clone(spec.Namespaces)
		if len(nss) == 0 {
			nss = []string{bundleNamespace}
		}
		slices.Sort(nss)
		s.Selectors = append(s.Selectors, Selector{Namespaces: slices.Compact(nss), Labels: sel})
	}
	return s, nil
}

// Namespaces lists, sorted and once each, every namespace the selection
// looks in.
func (s Selection) Namespaces() []string {
	var nss []string
	for _, n := range s.Names {
		nss = append(nss, n.Namespace)
	}
	for _, sel := range s.Selectors {
		nss = append(nss, sel.Namespaces...)
	}
	slices.Sort(nss)
	return slices.Compact(nss)
}

// Matches reports whether a Secret with these coordinates and labels is
// selected, by name or by a selector of its namespace. It does not look at
// the Secret's type: a Secret named explicitly is selected whatever its
// type, so that a wrong type is reported rather than ignored.
func (s Selection) Matches(namespace, name string, lbls map[string]string) bool {
	for _, n := range s.Names {
		if n.Namespace == namespace && n.Name == name {
			return true
		}
	}
	for _, sel := range s.Selectors {
		if slices.Contains(sel.Namespaces, namespace) && sel.Labels.Matches(labels.Set(lbls)) {
			return true
		}
	}
	return false
}

// Requester is the merge asking to read Secrets.
type Requester struct {
	// Namespace of a CertMerge; empty for a ClusterCertMerge.
	Namespace string
	// Name of the CertMerge or ClusterCertMerge.
	Name string
	// ClusterScoped merges may read every namespace.
	ClusterScoped bool
}

// Grant is a CertMergeGrant: in Namespace, it lets the listed CertMerges
// read the listed Secrets (all TLS Secrets when SecretNames is empty).
type Grant struct {
	Namespace   string
	From        []GrantFrom
	SecretNames []string
}

// GrantFrom names CertMerges by namespace and optional name.
type GrantFrom struct {
	Namespace string
	Name      string
}

// Permits reports whether g lets r read Secret name of g's namespace.
func (g Grant) Permits(r Requester, name string) bool {
	if len(g.SecretNames) > 0 && !slices.Contains(g.SecretNames, name) {
		return false
	}
	for _, f := range g.From {
		if f.Namespace == r.Namespace && (f.Name == "" || f.Name == r.Name) {
			return true
		}
	}
	return false
}

// Access decides what a requester may read. A namespaced CertMerge reads
// its own namespace; any other takes a grant there. A ClusterCertMerge reads
// everything: only a cluster admin can create one.
type Access struct {
	Requester Requester
	// Grants in the namespaces the selection looks in.
	Grants []Grant
}

// MayRead reports whether the Secret namespace/name may be read.
func (a Access) MayRead(namespace, name string) bool {
	if a.Requester.ClusterScoped || namespace == a.Requester.Namespace {
		return true
	}
	for _, g := range a.Grants {
		if g.Namespace == namespace && g.Permits(a.Requester, name) {
			return true
		}
	}
	return false
}

// MayReadNamespace reports whether at least some Secret of namespace may
// be read, that is whether edgecert should look there at all.
func (a Access) MayReadNamespace(namespace string) bool {
	if a.Requester.ClusterScoped || namespace == a.Requester.Namespace {
		return true
	}
	for _, g := range a.Grants {
		if g.Namespace != namespace {
			continue
		}
		for _, f := range g.From {
			if f.Namespace == a.Requester.Namespace && (f.Name == "" || f.Name == a.Requester.Name) {
				return true
			}
		}
	}
	return false
}
