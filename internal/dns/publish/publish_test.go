package publish_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/edgecert/edgecert/internal/dns/publish"
	"github.com/edgecert/edgecert/internal/dns/registry"
)

func TestEndpoints(t *testing.T) {
	ip := map[string]publish.Target{"istio-system/public": {Values: []string{"192.0.2.1", "2001:db8::1"}}}
	tests := map[string]struct {
		zone    publish.Zone
		sources []publish.Source
		targets map[string]publish.Target
		want    []registry.Endpoint
		skipped []publish.Skipped
	}{
		"hosts in the zone get A and AAAA; others are another zone's": {
			zone: publish.Zone{Name: "example.com", TTL: 300},
			sources: []publish.Source{{Resource: "gatewayservice/shop/web", Gateway: "istio-system/public",
				Hosts: []string{"shop/www.example.com", "shop/Api.Example.com.", "shop/www.example.org"}}},
			targets: ip,
			want: []registry.Endpoint{
				{Name: "www.example.com.", Type: "A", TTL: 300, Targets: []string{"192.0.2.1"}, Resource: "gatewayservice/shop/web"},
				{Name: "www.example.com.", Type: "AAAA", TTL: 300, Targets: []string{"2001:db8::1"}, Resource: "gatewayservice/shop/web"},
				{Name: "api.example.com.", Type: "A", TTL: 300, Targets: []string{"192.0.2.1"}, Resource: "gatewayservice/shop/web"},
				{Name: "api.example.com.", Type: "AAAA", TTL: 300, Targets: []string{"2001:db8::1"}, Resource: "gatewayservice/shop/web"},
			},
		},
		"wildcards publish wildcard records; * alone is skipped": {
			zone:    publish.Zone{Name: "example.com.", TTL: 60},
			sources: []publish.Source{{Resource: "gateway/istio-system/public", Gateway: "istio-system/public", Hosts: []string{"*/*.apps.example.com", "*", "*.example.com"}}},
			targets: map[string]publish.Target{"istio-system/public": {Values: []string{"lb.example.net"}}},
			want: []registry.Endpoint{
				{Name: "*.apps.example.com.", Type: "CNAME", TTL: 60, Targets: []string{"lb.example.net"}, Resource: "gateway/istio-system/public"},
				{Name: "*.example.com.", Type: "CNAME", TTL: 60, Targets: []string{"lb.example.net"}, Resource: "gateway/istio-system/public"},
			},
			skipped: []publish.Skipped{{Host: "*", Resource: "gateway/istio-system/public", Reason: `"*" matches every host: no record is published for it`}},
		},
		"domain filters": {
			zone: publish.Zone{Name: "example.com", TTL: 300, Include: []string{"apps.example.com", "www.example.com"}, Exclude: []string{"internal.apps.example.com"}},
			sources: []publish.Source{{Resource: "gateway/ns/gw", Gateway: "ns/gw",
				Hosts: []string{"www.example.com", "a.apps.example.com", "x.internal.apps.example.com", "other.example.com"}}},
			targets: map[string]publish.Target{"ns/gw": {Values: []string{"192.0.2.7"}}},
			want: []registry.Endpoint{
				{Name: "www.example.com.", Type: "A", TTL: 300, Targets: []string{"192.0.2.7"}, Resource: "gateway/ns/gw"},
				{Name: "a.apps.example.com.", Type: "A", TTL: 300, Targets: []string{"192.0.2.7"}, Resource: "gateway/ns/gw"},
			},
			skipped: []publish.Skipped{
				{Host: "other.example.com", Resource: "gateway/ns/gw", Reason: "outside the DNSZone's included domains"},
				{Host: "x.internal.apps.example.com", Resource: "gateway/ns/gw", Reason: "excluded by the DNSZone's domain internal.apps.example.com"},
			},
		},
		"explicit targets win; a source's TTL wins": {
			zone:    publish.Zone{Name: "example.com", TTL: 300, Targets: []string{"203.0.113.9"}},
			sources: []publish.Source{{Resource: "gateway/ns/gw", Gateway: "ns/missing", TTL: 30, Hosts: []string{"www.example.com"}}},
			want:    []registry.Endpoint{{Name: "www.example.com.", Type: "A", TTL: 30, Targets: []string{"203.0.113.9"}, Resource: "gateway/ns/gw"}},
		},
		"no target: skipped with the reason": {
			zone: publish.Zone{Name: "example.com", TTL: 300},
			sources: []publish.Source{
				{Resource: "gateway/ns/a", Gateway: "ns/a", Hosts: []string{"a.example.com"}},
				{Resource: "gateway/ns/b", Gateway: "ns/b", Hosts: []string{"b.example.com"}},
			},
			targets: map[string]publish.Target{"ns/a": {Problem: "2 Services select the gateway pods"}},
			skipped: []publish.Skipped{
				{Host: "a.example.com", Resource: "gateway/ns/a", Reason: "2 Services select the gateway pods"},
				{Host: "b.example.com", Resource: "gateway/ns/b", Reason: "Gateway ns/b not found"},
			},
		},
		"a host name target mixed with IPs: skipped": {
			zone:    publish.Zone{Name: "example.com", TTL: 300, Targets: []string{"192.0.2.1", "lb.example.net"}},
			sources: []publish.Source{{Resource: "gateway/ns/gw", Gateway: "ns/gw", Hosts: []string{"www.example.com"}}},
			skipped: []publish.Skipped{{Host: "www.example.com", Resource: "gateway/ns/gw", Reason: "targets 192.0.2.1, lb.example.net: a host name target must be the only one (a CNAME has one value)"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, skipped := publish.Endpoints(tc.zone, tc.sources, tc.targets)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.skipped, skipped, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGatewayTarget(t *testing.T) {
	ingress := publish.Service{Namespace: "istio-system", Name: "istio-ingressgateway", Selector: map[string]string{"istio": "ingressgateway", "app": "gw"}, IPs: []string{"192.0.2.2", "192.0.2.1"}}
	tests := map[string]struct {
		selector map[string]string
		services []publish.Service
		want     publish.Target
	}{
		"one Service": {selector: map[string]string{"istio": "ingressgateway"}, services: []publish.Service{ingress, {Namespace: "x", Name: "other", Selector: map[string]string{"app": "x"}}},
			want: publish.Target{Values: []string{"192.0.2.1", "192.0.2.2"}}},
		"host name": {selector: map[string]string{"istio": "ingressgateway"},
			services: []publish.Service{{Namespace: "istio-system", Name: "gw", Selector: map[string]string{"istio": "ingressgateway"}, Hostnames: []string{"lb-1.elb.amazonaws.com"}}},
			want:     publish.Target{Values: []string{"lb-1.elb.amazonaws.com"}}},
		"two Services: no guess": {selector: map[string]string{"istio": "ingressgateway"},
			services: []publish.Service{ingress, {Namespace: "team", Name: "copy", Selector: map[string]string{"istio": "ingressgateway"}, IPs: []string{"198.51.100.1"}}},
			want:     publish.Target{Problem: "2 Services select the gateway pods (istio=ingressgateway): istio-system/istio-ingressgateway, team/copy; edgecert does not guess: set the DNSZone's targets"}},
		"none":                                   {selector: map[string]string{"istio": "egress"}, services: []publish.Service{ingress}, want: publish.Target{Problem: "no Service selects the gateway pods (istio=egress)"}},
		"no selector":                            {services: []publish.Service{ingress}, want: publish.Target{Problem: "the Gateway has no selector, so no Service can be found for its pods; set the DNSZone's targets"}},
		"no address":                             {selector: map[string]string{"app": "gw"}, services: []publish.Service{{Namespace: "n", Name: "s", Selector: map[string]string{"app": "gw"}}}, want: publish.Target{Problem: "Service n/s has no load balancer address yet"}},
		"empty selector Service selects nothing": {selector: map[string]string{"app": "gw"}, services: []publish.Service{{Namespace: "n", Name: "headless", IPs: []string{"192.0.2.9"}}}, want: publish.Target{Problem: "no Service selects the gateway pods (app=gw)"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, publish.GatewayTarget(tc.selector, tc.services), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("GatewayTarget (-want +got):\n%s", diff)
			}
		})
	}
}

func TestManages(t *testing.T) {
	z := publish.Zone{Name: "example.com", Include: []string{"apps.example.com"}, Exclude: []string{"internal.apps.example.com"}}
	for name, want := range map[string]bool{
		"apps.example.com.":            true,
		"www.apps.example.com.":        true,
		"*.apps.example.com.":          true,
		"x.internal.apps.example.com.": false,
		"www.example.com.":             false,
		"example.com.":                 false,
		"www.example.org.":             false,
	} {
		if got := z.Manages(name); got != want {
			t.Errorf("Manages(%q) = %v, want %v", name, got, want)
		}
	}
	all := publish.Zone{Name: "example.com"}
	for name, want := range map[string]bool{"example.com.": true, "a.b.example.com.": true, "example.org.": false, "badexample.com.": false} {
		if got := all.Manages(name); got != want {
			t.Errorf("without filters, Manages(%q) = %v, want %v", name, got, want)
		}
	}
}
