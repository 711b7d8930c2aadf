package gateway

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/names"
)

// ChallengePathPrefix is where ACME CAs ask for HTTP-01 answers (RFC 8555
// section 8.3). The challenge route sends it to edgecert's listener and the
// listener (internal/controller/certificate) serves it; both use this one
// constant so that they cannot disagree.
const ChallengePathPrefix = "/.well-known/acme-challenge/"

// ChallengePortName names the port-80 server of a challenge Gateway.
const ChallengePortName = "http-acme-challenge"

// DefaultChallengeSelector picks the ingress gateway that Istio's charts
// install.
var DefaultChallengeSelector = map[string]string{"istio": "ingressgateway"}

// ChallengeRoute is what makes HTTP-01 challenges for some hosts reach
// edgecert's listener through an Istio ingress gateway: a Gateway with one
// port-80 HTTP server for the hosts (unless an existing Gateway is used)
// and a VirtualService routing ChallengePathPrefix to edgecert's Service.
type ChallengeRoute struct {
	// Namespace and Name of the Gateway (when created) and the
	// VirtualService.
	Namespace, Name string
	// Hosts being validated, as DNS names.
	Hosts []string
	// Selector of the created Gateway; nil when ExistingGateway is set.
	Selector map[string]string
	// ExistingGateway, "<namespace>/<name>", carries the port-80 server.
	ExistingGateway string
	// RedirectGateways also get the route: the CA follows their HTTPS
	// redirect to port 443 (see HTTPSRedirects).
	RedirectGateways []string
	// Service is edgecert's HTTP-01 listener.
	Service edgecertv1alpha1.ServiceReference
}

// NewChallengeRoute builds the route for the HTTP-01 hosts of one order
// that one solver answers. name is the object name (see ChallengeRouteName).
func NewChallengeRoute(namespace, name string, hosts []string, spec *edgecertv1alpha1.HTTP01IstioRoute) ChallengeRoute {
	r := ChallengeRoute{Namespace: namespace, Name: name, Hosts: slices.Clone(hosts), Service: spec.SolverService}
	slices.Sort(r.Hosts)
	r.Hosts = slices.Compact(r.Hosts)
	switch {
	case spec.GatewayName != "":
		r.ExistingGateway = spec.GatewayName
	case len(spec.GatewaySelector) > 0:
		r.Selector = maps.Clone(spec.GatewaySelector)
	default:
		r.Selector = maps.Clone(DefaultChallengeSelector)
	}
	return r
}

// ChallengeRouteName is "<certificate>-http01-<solver>" when that is a DNS
// label, as istiod requires of a Gateway's name and of the Gateway a
// VirtualService names; a Certificate name with dots, or too long, is made
// one by names.FitLabel (dots become "-", a hash is added).
func ChallengeRouteName(certificate string, solver int) string {
	return names.FitLabel(certificate, fmt.Sprintf("-http01-%d", solver))
}

// Server is the created Gateway's one server: plain HTTP on port 80 for
// the hosts, restricted to VirtualServices of the route's namespace so no
// other namespace can bind to it.
func (r ChallengeRoute) Server() Server {
	return Server{Port: Port{Number: 80, Protocol: "HTTP", Name: ChallengePortName}, Hosts: ServerHosts(r.Namespace, r.Hosts)}
}

// Gateways are the VirtualService's gateways, "<namespace>/<name>".
func (r ChallengeRoute) Gateways() []string {
	gws := []string{r.Namespace + "/" + r.Name}
	if r.ExistingGateway != "" {
		gws = []string{r.ExistingGateway}
	}
	for _, g := range r.RedirectGateways {
		if !slices.Contains(gws, g) {
			gws = append(gws, g)
		}
	}
	return gws
}

// ServiceHost is the solver Service's cluster-local name.
func (r ChallengeRoute) ServiceHost() string {
	return r.Service.Name + "." + r.Service.Namespace + ".svc.cluster.local"
}

// GatewaySpec is the created Gateway's spec, as an Istio Gateway's JSON.
func (r ChallengeRoute) GatewaySpec() map[string]any {
	return map[string]any{
		"selector": toAny(r.Selector),
		"servers":  []any{r.Server().Entry()},
	}
}

// VirtualServiceSpec is the VirtualService's spec: one route, matching the
// challenge path prefix on the hosts, to edgecert's Service. Istio moves
// catch-all routes of a host (a "/" redirect to HTTPS, say) after every
// other route of that host on a gateway, so this route is matched first
// even when a VirtualService of the application redirects the host.
func (r ChallengeRoute) VirtualServiceSpec() map[string]any {
	return map[string]any{
		"hosts":    toAnySlice(r.Hosts),
		"gateways": toAnySlice(r.Gateways()),
		"http": []any{map[string]any{
			"name":  "acme-http01",
			"match": []any{map[string]any{"uri": map[string]any{"prefix": ChallengePathPrefix}}},
			"route": []any{map[string]any{"destination": map[string]any{
				"host": r.ServiceHost(),
				"port": map[string]any{"number": int64(r.Service.Port)},
			}}},
		}},
	}
}

// Validate mirrors the checks istiod's validating webhook applies to the
// objects the route renders: the Gateway's server (ValidateGateway), and
// for the VirtualService, hosts that are valid and not "*" (a
// VirtualService bound to gateways may not claim every host here), gateway
// references of "<namespace>/<name>" form, and a destination host and port.
func (r ChallengeRoute) Validate() error {
	var errs []error
	if r.ExistingGateway == "" {
		if !isDNSLabel(r.Name) {
			errs = append(errs, fmt.Errorf("invalid gateway name: %q", r.Name))
		}
		if len(r.Selector) == 0 {
			errs = append(errs, errors.New("gateway selector must not be empty"))
		}
		if err := ValidateGateway([]Server{r.Server()}); err != nil {
			errs = append(errs, err)
		}
	}
	if len(r.Hosts) == 0 {
		errs = append(errs, errors.New("virtual service must have at least one host"))
	}
	for _, h := range r.Hosts {
		if h == "*" || strings.HasPrefix(h, "*") {
			errs = append(errs, fmt.Errorf("host %q: HTTP-01 validates exact names only", h))
			continue
		}
		if err := ValidateHost(h); err != nil {
			errs = append(errs, err)
		}
	}
	for _, g := range r.Gateways() {
		ns, name, ok := strings.Cut(g, "/")
		// istiod takes only DNS labels here, for the name too.
		if !ok || !isDNSLabel(ns) || !isDNSLabel(name) {
			errs = append(errs, fmt.Errorf("gateway %q: want <namespace>/<name>, each a DNS label", g))
		}
	}
	if !isDNSLabel(r.Service.Name) || !isDNSLabel(r.Service.Namespace) {
		errs = append(errs, fmt.Errorf("solver Service %s/%s: invalid name", r.Service.Namespace, r.Service.Name))
	}
	if r.Service.Port < 1 || r.Service.Port > 65535 {
		errs = append(errs, fmt.Errorf("solver Service port %d must be in the range 1..65535", r.Service.Port))
	}
	return errors.Join(errs...)
}

// HTTPSRedirects finds what an HTTPS redirect of host does to a challenge
// served by gateway pods picked by selector. A port-80 server with
// tls.httpsRedirect on a Gateway of the same selector makes Envoy redirect
// every request for the host before any route when a VirtualService binds
// the host to it (Istio marks the whole virtual host), so the challenge
// route cannot win there. The CA follows the redirect to
// https://<host>/.well-known/acme-challenge/... on port 443: redirecting
// lists the Gateways that redirect the host, and https the Gateways of
// the same selector with a TLS-terminating server for it, which the
// challenge route must also bind to. A redirect counts whatever the
// server's "<namespace>/" prefix (any namespace's VirtualService may bind
// the host); an HTTPS server counts only when its prefix admits
// VirtualServices of ns, the route's namespace.
func HTTPSRedirects(gateways []Gateway, selector map[string]string, ns, host string) (redirecting, https []string) {
	for _, g := range gateways {
		if !maps.Equal(g.Selector, selector) {
			continue
		}
		name := g.Namespace + "/" + g.Name
		for _, s := range g.Servers {
			switch {
			case family(s.Port.Protocol) == familyHTTP && s.TLS != nil && s.TLS.HTTPSRedirect && servesHost(s, "", g.Namespace, host):
				if !slices.Contains(redirecting, name) {
					redirecting = append(redirecting, name)
				}
			case strings.EqualFold(s.Port.Protocol, "HTTPS") && s.TLS != nil && !passthrough(s.TLS) && servesHost(s, ns, g.Namespace, host):
				if !slices.Contains(https, name) {
					https = append(https, name)
				}
			}
		}
	}
	return redirecting, https
}

// servesHost reports whether a server of a Gateway in gwNamespace admits
// VirtualServices of ns (any namespace when empty) for host.
func servesHost(s Server, ns, gwNamespace, host string) bool {
	for _, h := range s.Hosts {
		hostNS, name, found := strings.Cut(h, "/")
		if !found {
			hostNS, name = "*", h
		}
		if hostNS == "." {
			hostNS = gwNamespace
		}
		if ns != "" && hostNS != "*" && hostNS != ns {
			continue
		}
		if Overlap(DNSName(name), host) {
			return true
		}
	}
	return false
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func toAnySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
