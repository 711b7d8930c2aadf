package bundle

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSelectionMatches(t *testing.T) {
	sel := func(ls metav1.LabelSelector, nss ...string) SelectorSpec {
		return SelectorSpec{Namespaces: nss, LabelSelector: ls}
	}
	expr := func(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelector {
		return metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
	}
	tests := map[string]struct {
		names     []Ref
		selectors []SelectorSpec
		ns, name  string
		labels    map[string]string
		want      bool
	}{
		"by name, namespace defaulted":     {names: []Ref{{Name: "a"}}, ns: "home", name: "a", want: true},
		"by name, other namespace differs": {names: []Ref{{Name: "a"}}, ns: "other", name: "a"},
		"by name, explicit namespace":      {names: []Ref{{Namespace: "other", Name: "a"}}, ns: "other", name: "a", want: true},
		"matchLabels":                      {selectors: []SelectorSpec{sel(metav1.LabelSelector{MatchLabels: map[string]string{"certmerge": "true"}})}, ns: "home", name: "x", labels: map[string]string{"certmerge": "true"}, want: true},
		"matchLabels, wrong value":         {selectors: []SelectorSpec{sel(metav1.LabelSelector{MatchLabels: map[string]string{"certmerge": "true"}})}, ns: "home", name: "x", labels: map[string]string{"certmerge": "false"}},
		"In":                               {selectors: []SelectorSpec{sel(expr("env", metav1.LabelSelectorOpIn, "dev", "prod"))}, ns: "home", labels: map[string]string{"env": "prod"}, want: true},
		"In, not listed":                   {selectors: []SelectorSpec{sel(expr("env", metav1.LabelSelectorOpIn, "dev", "prod"))}, ns: "home", labels: map[string]string{"env": "qa"}},
		"NotIn":                            {selectors: []SelectorSpec{sel(expr("env", metav1.LabelSelectorOpNotIn, "dev"))}, ns: "home", labels: map[string]string{"env": "prod"}, want: true},
		"NotIn, listed":                    {selectors: []SelectorSpec{sel(expr("env", metav1.LabelSelectorOpNotIn, "dev"))}, ns: "home", labels: map[string]string{"env": "dev"}},
		"Exists":                           {selectors: []SelectorSpec{sel(expr("certmerge", metav1.LabelSelectorOpExists))}, ns: "home", labels: map[string]string{"certmerge": ""}, want: true},
		"Exists, absent":                   {selectors: []SelectorSpec{sel(expr("certmerge", metav1.LabelSelectorOpExists))}, ns: "home"},
		"DoesNotExist":                     {selectors: []SelectorSpec{sel(expr("skip", metav1.LabelSelectorOpDoesNotExist))}, ns: "home", want: true},
		"DoesNotExist, present":            {selectors: []SelectorSpec{sel(expr("skip", metav1.LabelSelectorOpDoesNotExist))}, ns: "home", labels: map[string]string{"skip": "1"}},
		"selector in listed namespace":     {selectors: []SelectorSpec{sel(metav1.LabelSelector{}, "a", "b")}, ns: "b", want: true},
		"selector outside its namespaces":  {selectors: []SelectorSpec{sel(metav1.LabelSelector{}, "a", "b")}, ns: "home"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := NewSelection("home", tc.names, tc.selectors)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Matches(tc.ns, tc.name, tc.labels); got != tc.want {
				t.Errorf("Matches(%s/%s, %v) = %v, want %v", tc.ns, tc.name, tc.labels, got, tc.want)
			}
		})
	}
}

func TestSelectionNamespaces(t *testing.T) {
	s, err := NewSelection("home", []Ref{{Name: "a"}, {Namespace: "z", Name: "b"}}, []SelectorSpec{{Namespaces: []string{"z", "m", "m"}}, {}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"home", "m", "z"}, s.Namespaces()); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}
}

func TestNewSelectionRejectsBadSelector(t *testing.T) {
	_, err := NewSelection("home", nil, []SelectorSpec{{LabelSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}}}})
	if err == nil {
		t.Fatal("NewSelection accepted an unknown operator")
	}
}

func TestAccess(t *testing.T) {
	merge := Requester{Namespace: "istio-system", Name: "ingress"}
	grants := []Grant{
		{Namespace: "team-a", From: []GrantFrom{{Namespace: "istio-system"}}},
		{Namespace: "team-b", From: []GrantFrom{{Namespace: "istio-system", Name: "other"}}},
		{Namespace: "team-c", From: []GrantFrom{{Namespace: "istio-system", Name: "ingress"}}, SecretNames: []string{"web"}},
		{Namespace: "team-d", From: []GrantFrom{{Namespace: "elsewhere"}}},
	}
	tests := map[string]struct {
		req      Requester
		ns, name string
		want     bool
		wantNS   bool
	}{
		"own namespace":                        {req: merge, ns: "istio-system", name: "x", want: true, wantNS: true},
		"grant to the namespace":               {req: merge, ns: "team-a", name: "x", want: true, wantNS: true},
		"grant to another CertMerge":           {req: merge, ns: "team-b", name: "x"},
		"grant limited to named Secrets":       {req: merge, ns: "team-c", name: "web", want: true, wantNS: true},
		"grant limited, Secret not named":      {req: merge, ns: "team-c", name: "api", wantNS: true},
		"grant to another namespace":           {req: merge, ns: "team-d", name: "x"},
		"no grant":                             {req: merge, ns: "team-e", name: "x"},
		"cluster-scoped reads every namespace": {req: Requester{Name: "all", ClusterScoped: true}, ns: "team-e", name: "x", want: true, wantNS: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := Access{Requester: tc.req, Grants: grants}
			if got := a.MayRead(tc.ns, tc.name); got != tc.want {
				t.Errorf("MayRead(%s/%s) = %v, want %v", tc.ns, tc.name, got, tc.want)
			}
			if got := a.MayReadNamespace(tc.ns); got != tc.wantNS {
				t.Errorf("MayReadNamespace(%s) = %v, want %v", tc.ns, got, tc.wantNS)
			}
		})
	}
}
