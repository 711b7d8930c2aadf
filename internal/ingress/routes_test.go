package ingress

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
)

func TestIntersectHostname(t *testing.T) {
	tests := map[string]struct {
		listener, route string
		want            string // "" for no intersection
	}{
		"no listener hostname takes the route's":      {listener: "", route: "a.example.com", want: "a.example.com"},
		"no listener hostname takes a route wildcard": {listener: "", route: "*.example.com", want: "*.example.com"},
		"equal":                                         {listener: "a.example.com", route: "a.example.com", want: "a.example.com"},
		"equal, case ignored":                           {listener: "A.example.com", route: "a.EXAMPLE.com", want: "a.example.com"},
		"different names":                               {listener: "a.example.com", route: "b.example.com"},
		"listener wildcard, route name under it":        {listener: "*.example.com", route: "a.example.com", want: "a.example.com"},
		"listener wildcard, route name two deep":        {listener: "*.example.com", route: "a.b.example.com", want: "a.b.example.com"},
		"listener wildcard, route is the bare domain":   {listener: "*.example.com", route: "example.com"},
		"listener wildcard, route elsewhere":            {listener: "*.example.com", route: "a.example.net"},
		"listener wildcard, suffix without a dot":       {listener: "*.example.com", route: "aexample.com"},
		"route wildcard covers the listener":            {listener: "a.example.com", route: "*.example.com", want: "a.example.com"},
		"route wildcard, listener is the bare domain":   {listener: "example.com", route: "*.example.com"},
		"two wildcards, route narrower":                 {listener: "*.example.com", route: "*.shop.example.com", want: "*.shop.example.com"},
		"two wildcards, listener narrower":              {listener: "*.shop.example.com", route: "*.example.com", want: "*.shop.example.com"},
		"two wildcards, equal":                          {listener: "*.example.com", route: "*.example.com", want: "*.example.com"},
		"two wildcards, disjoint":                       {listener: "*.shop.example.com", route: "*.blog.example.com"},
		"listener wildcard narrower than a route name":  {listener: "*.a.example.com", route: "a.example.com"},
		"route wildcard narrower than a listener name":  {listener: "a.example.com", route: "*.a.example.com"},
		"empty route hostname with a listener hostname": {listener: "a.example.com", route: ""},
		"empty both": {listener: "", route: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := IntersectHostname(tc.listener, tc.route)
			if ok != (tc.want != "") || got != tc.want {
				t.Errorf("IntersectHostname(%q, %q) = %q, %v; want %q", tc.listener, tc.route, got, ok, tc.want)
			}
		})
	}
}

// parentRef is a parentRef as a user writes it: name, and optionally
// namespace ("" for the route's), sectionName and port (0 for none).
func parentRef(namespace, name, section string, port int32) gatewayv1.ParentReference {
	p := gatewayv1.ParentReference{Name: gatewayv1.ObjectName(name)}
	if namespace != "" {
		ns := gatewayv1.Namespace(namespace)
		p.Namespace = &ns
	}
	if section != "" {
		s := gatewayv1.SectionName(section)
		p.SectionName = &s
	}
	if port != 0 {
		p.Port = &port
	}
	return p
}

func route(kind, namespace, name string, parents []gatewayv1.ParentReference, hostnames ...string) Route {
	r := Route{Kind: kind, Namespace: namespace, Name: name, ParentRefs: parents}
	for _, h := range hostnames {
		r.Hostnames = append(r.Hostnames, gatewayv1.Hostname(h))
	}
	return r
}

func allowedFrom(from gatewayv1.FromNamespaces, selector map[string]string, kinds ...gatewayv1.RouteGroupKind) *gatewayv1.AllowedRoutes {
	ar := &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: &from}, Kinds: kinds}
	if selector != nil {
		ar.Namespaces.Selector = &metav1.LabelSelector{MatchLabels: selector}
	}
	return ar
}

func routeKind(group, kind string) gatewayv1.RouteGroupKind {
	k := gatewayv1.RouteGroupKind{Kind: gatewayv1.Kind(kind)}
	if group != "-" {
		g := gatewayv1.Group(group)
		k.Group = &g
	}
	return k
}

func TestAttaches(t *testing.T) {
	https, tls := gatewayv1.HTTPSProtocolType, gatewayv1.TLSProtocolType
	// The Gateway apps/web; its listener "https" on 443 without hostname.
	gw := gatewayAPIGateway(nil)
	catchAll := listener("https", https, "", "", secretRef("all-tls"))
	withAllowed := func(l gatewayv1.Listener, ar *gatewayv1.AllowedRoutes) gatewayv1.Listener {
		l.AllowedRoutes = ar
		return l
	}
	toWeb := []gatewayv1.ParentReference{parentRef("apps", "web", "", 0)}
	group := func(g string) gatewayv1.ParentReference {
		p := parentRef("apps", "web", "", 0)
		gg := gatewayv1.Group(g)
		p.Group = &gg
		return p
	}
	kind := func(k string) gatewayv1.ParentReference {
		p := parentRef("apps", "web", "", 0)
		kk := gatewayv1.Kind(k)
		p.Kind = &kk
		return p
	}
	tests := map[string]struct {
		listener gatewayv1.Listener
		route    Route
		labels   map[string]string
		want     bool
	}{
		"same namespace, namespace defaulted": {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{parentRef("", "web", "", 0)}, "a.example.com"), want: true},
		"other namespace, Same by default":    {listener: catchAll, route: route(KindHTTPRoute, "shop", "r", toWeb, "a.example.com")},
		"other namespace, parentRef defaulted to the route's": {listener: withAllowed(catchAll, allowedFrom(gatewayv1.NamespacesFromAll, nil)),
			route: route(KindHTTPRoute, "shop", "r", []gatewayv1.ParentReference{parentRef("", "web", "", 0)}, "a.example.com")},
		"other namespace, All":                  {listener: withAllowed(catchAll, allowedFrom(gatewayv1.NamespacesFromAll, nil)), route: route(KindHTTPRoute, "shop", "r", toWeb, "a.example.com"), want: true},
		"other namespace, Same explicit":        {listener: withAllowed(catchAll, allowedFrom(gatewayv1.NamespacesFromSame, nil)), route: route(KindHTTPRoute, "shop", "r", toWeb, "a.example.com")},
		"Selector matching":                     {listener: withAllowed(catchAll, allowedFrom(gatewayv1.NamespacesFromSelector, map[string]string{"team": "shop"})), route: route(KindHTTPRoute, "shop", "r", toWeb, "a.example.com"), labels: map[string]string{"team": "shop", "x": "y"}, want: true},
		"Selector not matching":                 {listener: withAllowed(catchAll, allowedFrom(gatewayv1.NamespacesFromSelector, map[string]string{"team": "shop"})), route: route(KindHTTPRoute, "shop", "r", toWeb, "a.example.com"), labels: map[string]string{"team": "blog"}},
		"Selector without a selector":           {listener: withAllowed(catchAll, allowedFrom(gatewayv1.NamespacesFromSelector, nil)), route: route(KindHTTPRoute, "shop", "r", toWeb, "a.example.com"), labels: map[string]string{"team": "shop"}},
		"another Gateway":                       {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{parentRef("apps", "other", "", 0)}, "a.example.com")},
		"a Gateway of that name elsewhere":      {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{parentRef("shop", "web", "", 0)}, "a.example.com")},
		"second parentRef matches":              {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{parentRef("apps", "other", "", 0), parentRef("", "web", "", 0)}, "a.example.com"), want: true},
		"group explicit":                        {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{group(gatewayv1.GroupName)}, "a.example.com"), want: true},
		"core group (a Service)":                {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{group("")}, "a.example.com")},
		"kind Service":                          {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{kind("Service")}, "a.example.com")},
		"kind ListenerSet":                      {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{kind("ListenerSet")}, "a.example.com")},
		"sectionName matching":                  {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{parentRef("", "web", "https", 0)}, "a.example.com"), want: true},
		"sectionName of another listener":       {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{parentRef("", "web", "http", 0)}, "a.example.com")},
		"port matching":                         {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{parentRef("", "web", "", 443)}, "a.example.com"), want: true},
		"port of another listener":              {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{parentRef("", "web", "", 8443)}, "a.example.com")},
		"sectionName matching, port not":        {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{parentRef("", "web", "https", 8443)}, "a.example.com")},
		"GRPCRoute on HTTPS":                    {listener: catchAll, route: route(KindGRPCRoute, "apps", "r", toWeb, "a.example.com"), want: true},
		"TLSRoute on HTTPS":                     {listener: catchAll, route: route(KindTLSRoute, "apps", "r", toWeb, "a.example.com")},
		"TLSRoute on TLS":                       {listener: listener("tls", tls, "", "", secretRef("t")), route: route(KindTLSRoute, "apps", "r", toWeb, "a.example.com"), want: true},
		"HTTPRoute on TLS":                      {listener: listener("tls", tls, "", "", secretRef("t")), route: route(KindHTTPRoute, "apps", "r", toWeb, "a.example.com")},
		"kinds listing HTTPRoute only, GRPC":    {listener: withAllowed(catchAll, allowedFrom(gatewayv1.NamespacesFromSame, nil, routeKind("-", KindHTTPRoute))), route: route(KindGRPCRoute, "apps", "r", toWeb, "a.example.com")},
		"kinds listing HTTPRoute only, HTTP":    {listener: withAllowed(catchAll, allowedFrom(gatewayv1.NamespacesFromSame, nil, routeKind("-", KindHTTPRoute))), route: route(KindHTTPRoute, "apps", "r", toWeb, "a.example.com"), want: true},
		"kinds with the group explicit":         {listener: withAllowed(catchAll, allowedFrom(gatewayv1.NamespacesFromSame, nil, routeKind(gatewayv1.GroupName, KindHTTPRoute))), route: route(KindHTTPRoute, "apps", "r", toWeb, "a.example.com"), want: true},
		"kinds of another group":                {listener: withAllowed(catchAll, allowedFrom(gatewayv1.NamespacesFromSame, nil, routeKind("example.com", KindHTTPRoute))), route: route(KindHTTPRoute, "apps", "r", toWeb, "a.example.com")},
		"kinds listing one the protocol lacks":  {listener: withAllowed(catchAll, allowedFrom(gatewayv1.NamespacesFromSame, nil, routeKind("-", KindTLSRoute))), route: route(KindTLSRoute, "apps", "r", toWeb, "a.example.com")},
		"hostname intersects":                   {listener: listener("https", https, "*.example.com", "", secretRef("w")), route: route(KindHTTPRoute, "apps", "r", toWeb, "a.example.net", "a.example.com"), want: true},
		"hostname does not intersect":           {listener: listener("https", https, "*.example.com", "", secretRef("w")), route: route(KindHTTPRoute, "apps", "r", toWeb, "a.example.net")},
		"route without hostnames attaches":      {listener: listener("https", https, "*.example.com", "", secretRef("w")), route: route(KindHTTPRoute, "apps", "r", toWeb), want: true},
		"route without parentRefs":              {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", nil, "a.example.com")},
		"UDPRoute-like kind edgecert ignores":   {listener: catchAll, route: route("UDPRoute", "apps", "r", toWeb, "a.example.com")},
		"namespace None (not a route setting)":  {listener: withAllowed(catchAll, allowedFrom(gatewayv1.NamespacesFromNone, nil)), route: route(KindHTTPRoute, "apps", "r", toWeb, "a.example.com")},
		"namespaces unset in allowedRoutes":     {listener: withAllowed(catchAll, &gatewayv1.AllowedRoutes{}), route: route(KindHTTPRoute, "apps", "r", toWeb, "a.example.com"), want: true},
		"namespaces unset, other namespace":     {listener: withAllowed(catchAll, &gatewayv1.AllowedRoutes{}), route: route(KindHTTPRoute, "shop", "r", toWeb, "a.example.com")},
		"sectionName empty string is the whole": {listener: catchAll, route: route(KindHTTPRoute, "apps", "r", []gatewayv1.ParentReference{parentRef("", "web", "", 0)}, "a.example.com"), want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Attaches(GatewayParent(gw), tc.listener, tc.route, tc.labels); got != tc.want {
				t.Errorf("Attaches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParentGateways(t *testing.T) {
	svc := parentRef("", "backend", "", 0)
	core := gatewayv1.Group("")
	svc.Group = &core
	r := route(KindHTTPRoute, "shop", "r", []gatewayv1.ParentReference{
		parentRef("", "web", "https", 0), parentRef("", "web", "http", 0), parentRef("edge", "web", "", 0), svc,
	})
	if diff := cmp.Diff([]string{"shop/web", "edge/web"}, ParentGateways(r)); diff != "" {
		t.Errorf("ParentGateways (-want +got):\n%s", diff)
	}
}

// claimPolicy is a GatewayPolicy claiming domains for namespaces.
func claimPolicy(claims map[string][]string) edgecertv1alpha1.GatewayPolicy {
	p := edgecertv1alpha1.GatewayPolicy{ObjectMeta: metav1.ObjectMeta{Name: "claims"}}
	for ns, domains := range claims {
		p.Spec.Claims = append(p.Spec.Claims, edgecertv1alpha1.HostClaim{Namespaces: []string{ns}, Domains: domains})
	}
	return p
}

func TestGatewayAPICertificatesFromRoutes(t *testing.T) {
	https, tls := gatewayv1.HTTPSProtocolType, gatewayv1.TLSProtocolType
	all := allowedFrom(gatewayv1.NamespacesFromAll, nil)
	catchAll := listener("https", https, "", "", secretRef("all-tls"))
	catchAll.AllowedRoutes = all
	wildcard := listener("wild", https, "*.example.com", "", secretRef("wild-tls"))
	wildcard.AllowedRoutes = all
	toWeb := []gatewayv1.ParentReference{parentRef("apps", "web", "", 0)}
	shop := route(KindHTTPRoute, "shop", "shop", toWeb, "www.shop.example.com", "Shop.example.com")
	blog := route(KindHTTPRoute, "blog", "blog", toWeb, "blog.example.com")
	grpc := route(KindGRPCRoute, "shop", "api", toWeb, "api.shop.example.com", "shop.example.com")
	noHosts := route(KindHTTPRoute, "shop", "any", toWeb)
	elsewhere := route(KindHTTPRoute, "shop", "net", toWeb, "shop.example.net")
	policies := []edgecertv1alpha1.GatewayPolicy{claimPolicy(map[string][]string{"shop": {"shop.example.com", "shop.example.net"}, "blog": {"blog.example.com"}})}
	namespaces := map[string]gateway.Namespace{"shop": {Name: "shop"}, "blog": {Name: "blog"}}
	enforced := GatewayAPIRoutes{Namespaces: namespaces, Policies: policies, ClaimsEnforced: true}
	with := func(in GatewayAPIRoutes, routes ...Route) GatewayAPIRoutes {
		in.Routes = routes
		return in
	}
	tests := map[string]struct {
		gw      *gatewayv1.Gateway
		routes  GatewayAPIRoutes
		want    GatewayAPIResult
		wantErr string
	}{
		"catch-all listener: the attached routes' hostnames, sorted, deduplicated; a route without hostnames adds none": {
			gw:     gatewayAPIGateway(nil, catchAll),
			routes: with(enforced, shop, blog, grpc, noHosts, elsewhere),
			want: GatewayAPIResult{Certificates: []Certificate{cert("apps", "all-tls",
				"api.shop.example.com", "blog.example.com", "shop.example.com", "shop.example.net", "www.shop.example.com")}},
		},
		"catch-all listener without routes: no Certificate": {
			gw: gatewayAPIGateway(nil, catchAll), routes: enforced,
		},
		"a route asking for a host its namespace has not claimed is left out, the others served": {
			gw: gatewayAPIGateway(nil, catchAll),
			routes: with(enforced, shop, blog,
				route(KindHTTPRoute, "blog", "greedy", toWeb, "news.blog.example.com", "www.shop.example.com", "pay.shop.example.com"),
				route(KindTLSRoute, "blog", "tls", toWeb, "tls.shop.example.com")), // not attached (kind): not reported
			want: GatewayAPIResult{
				Certificates: []Certificate{cert("apps", "all-tls", "blog.example.com", "shop.example.com", "www.shop.example.com")},
				Unclaimed: []UnclaimedRoute{{Route: route(KindHTTPRoute, "blog", "greedy", toWeb, "news.blog.example.com", "www.shop.example.com", "pay.shop.example.com"),
					Parent: Parent{Group: "gateway.networking.k8s.io", Kind: "Gateway", Namespace: "apps", Name: "web"}, Hosts: []string{"www.shop.example.com", "pay.shop.example.com"}}},
			},
		},
		"claims not enforced: every attached route counts": {
			gw:     gatewayAPIGateway(nil, catchAll),
			routes: with(GatewayAPIRoutes{Policies: policies}, route(KindHTTPRoute, "blog", "greedy", toWeb, "www.shop.example.com")),
			want:   GatewayAPIResult{Certificates: []Certificate{cert("apps", "all-tls", "www.shop.example.com")}},
		},
		"a route attached to two listeners is reported once, hosts merged": {
			gw: gatewayAPIGateway(nil, catchAll, func() gatewayv1.Listener {
				l := listener("https-2", https, "", "", secretRef("two-tls"))
				l.Port, l.AllowedRoutes = 8443, all
				return l
			}()),
			routes: with(enforced, route(KindHTTPRoute, "blog", "greedy", toWeb, "a.shop.example.com", "b.shop.example.com")),
			want: GatewayAPIResult{Unclaimed: []UnclaimedRoute{{Route: route(KindHTTPRoute, "blog", "greedy", toWeb, "a.shop.example.com", "b.shop.example.com"),
				Parent: Parent{Group: "gateway.networking.k8s.io", Kind: "Gateway", Namespace: "apps", Name: "web"}, Hosts: []string{"a.shop.example.com", "b.shop.example.com"}}}},
		},
		"wildcard listener keeps its wildcard by default": {
			gw:     gatewayAPIGateway(nil, wildcard),
			routes: with(enforced, shop, blog),
			want:   GatewayAPIResult{Certificates: []Certificate{cert("apps", "wild-tls", "*.example.com")}},
		},
		"wildcard listener with listener-hostnames: routes certifies the intersections": {
			gw:     gatewayAPIGateway(map[string]string{ListenerHostnamesAnnotation: "routes"}, wildcard),
			routes: with(enforced, shop, blog, elsewhere, route(KindHTTPRoute, "shop", "wide", toWeb, "*.example.com")),
			// "wide" asks for *.example.com, which shop has not claimed.
			want: GatewayAPIResult{
				Certificates: []Certificate{cert("apps", "wild-tls", "blog.example.com", "shop.example.com", "www.shop.example.com")},
				Unclaimed:    []UnclaimedRoute{{Route: route(KindHTTPRoute, "shop", "wide", toWeb, "*.example.com"), Parent: Parent{Group: "gateway.networking.k8s.io", Kind: "Gateway", Namespace: "apps", Name: "web"}, Hosts: []string{"*.example.com"}}},
			},
		},
		"listener-hostnames: routes leaves listeners with a full hostname alone": {
			gw: gatewayAPIGateway(map[string]string{ListenerHostnamesAnnotation: "routes"}, func() gatewayv1.Listener {
				l := listener("shop", https, "shop.example.com", "", secretRef("shop-tls"))
				l.AllowedRoutes = all
				return l
			}()),
			routes: with(enforced, shop),
			want:   GatewayAPIResult{Certificates: []Certificate{cert("apps", "shop-tls", "shop.example.com")}},
		},
		"bad listener-hostnames": {
			gw:      gatewayAPIGateway(map[string]string{ListenerHostnamesAnnotation: "all"}, catchAll),
			wantErr: `edgecert.dev/listener-hostnames "all": want routes`,
		},
		"TLS listener takes TLSRoutes; Passthrough none": {
			gw: gatewayAPIGateway(nil,
				func() gatewayv1.Listener {
					l := listener("tls", tls, "", "", secretRef("tls-tls"))
					l.AllowedRoutes = all
					return l
				}(),
				func() gatewayv1.Listener {
					l := listener("pass", tls, "", gatewayv1.TLSModePassthrough, secretRef("pass-tls"))
					l.AllowedRoutes = all
					return l
				}()),
			routes: with(enforced, shop, route(KindTLSRoute, "shop", "db", toWeb, "db.shop.example.com")),
			want:   GatewayAPIResult{Certificates: []Certificate{cert("apps", "tls-tls", "db.shop.example.com")}},
		},
		"a catch-all listener's cross-namespace Secret needs a grant": {
			gw: gatewayAPIGateway(nil, func() gatewayv1.Listener {
				l := listener("https", https, "", "", secretRefIn("certs", "all-tls"))
				l.AllowedRoutes = all
				return l
			}()),
			routes: with(enforced, blog),
			want:   GatewayAPIResult{Refused: []RefusedRef{{GatewayNamespace: "apps", Namespace: "certs", Name: "all-tls", Listeners: []string{"https"}}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := GatewayAPICertificates(tc.gw, clusterLE, nil, tc.routes)
			checkResult(t, got, err, tc.want, tc.wantErr)
		})
	}
}

// TestGatewayAPICertificatesLimit: 103 names for one Secret give a
// Certificate with the first 100 in sorted order and a report of 3 left.
func TestGatewayAPICertificatesLimit(t *testing.T) {
	l := listener("https", gatewayv1.HTTPSProtocolType, "", "", secretRef("all-tls"))
	gw := gatewayAPIGateway(nil, l)
	var routes []Route
	var want []string
	for i := 102; i >= 0; i-- { // written in reverse: the order must come from sorting
		routes = append(routes, route(KindHTTPRoute, "apps", fmt.Sprintf("r%03d", i), []gatewayv1.ParentReference{parentRef("", "web", "", 0)}, fmt.Sprintf("h%03d.example.com", i)))
	}
	for i := range 100 {
		want = append(want, fmt.Sprintf("h%03d.example.com", i))
	}
	got, err := GatewayAPICertificates(gw, clusterLE, nil, GatewayAPIRoutes{Routes: routes})
	if err != nil {
		t.Fatal(err)
	}
	wantRes := GatewayAPIResult{
		Certificates: []Certificate{cert("apps", "all-tls", want...)},
		Truncated:    []TruncatedCertificate{{Namespace: "apps", Name: "all-tls", Left: 3, Listeners: []string{"https"}}},
	}
	if diff := cmp.Diff(wantRes, got); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	wantMsg := "Certificate apps/all-tls (listeners https) would name 103 hosts, more than the 100 a certificate may hold: " +
		"it names the first 100 in sorted order and leaves 3 out; split the routes across listeners with their own certificateRefs"
	if got := got.Truncated[0].String(); got != wantMsg {
		t.Errorf("message\n got %s\nwant %s", got, wantMsg)
	}
}

func TestUnclaimedRouteString(t *testing.T) {
	u := UnclaimedRoute{Route: route(KindHTTPRoute, "blog", "greedy", nil), Parent: Parent{Group: "gateway.networking.k8s.io", Kind: "Gateway", Namespace: "edge", Name: "web"}, Hosts: []string{"a.shop.example.com", "b.shop.example.com"}}
	want := "namespace blog has no claim on a.shop.example.com, b.shop.example.com: a GatewayPolicy's spec.claims must give it the host (docs/security.md); " +
		"HTTPRoute blog/greedy is left out of the certificates of Gateway edge/web, the other routes are still served"
	if got := u.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func listenerSet(namespace string, annotations map[string]string, parent gatewayv1.ParentGatewayReference, entries ...gatewayv1.Listener) *gatewayv1.ListenerSet {
	ls := &gatewayv1.ListenerSet{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "tenant", Annotations: annotations}, Spec: gatewayv1.ListenerSetSpec{ParentRef: parent}}
	for _, l := range entries {
		ls.Spec.Listeners = append(ls.Spec.Listeners, gatewayv1.ListenerEntry(l))
	}
	return ls
}

func gatewayParent(namespace, name string) gatewayv1.ParentGatewayReference {
	p := gatewayv1.ParentGatewayReference{Name: gatewayv1.ObjectName(name)}
	if namespace != "" {
		ns := gatewayv1.Namespace(namespace)
		p.Namespace = &ns
	}
	return p
}

func TestListenerSetParent(t *testing.T) {
	svc := gatewayParent("edge", "web")
	k := gatewayv1.Kind("Service")
	svc.Kind = &k
	tests := map[string]struct {
		parent         gatewayv1.ParentGatewayReference
		wantNS, wantGW string
	}{
		"namespace defaulted": {parent: gatewayParent("", "web"), wantNS: "shop", wantGW: "web"},
		"namespace given":     {parent: gatewayParent("edge", "web"), wantNS: "edge", wantGW: "web"},
		"another kind":        {parent: svc},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns, gw, ok := ListenerSetParent(listenerSet("shop", nil, tc.parent))
			if ns != tc.wantNS || gw != tc.wantGW || ok != (tc.wantGW != "") {
				t.Errorf("ListenerSetParent = %q, %q, %v; want %q, %q", ns, gw, ok, tc.wantNS, tc.wantGW)
			}
		})
	}
}

func TestListenerSetAllowed(t *testing.T) {
	allowed := func(from gatewayv1.FromNamespaces, sel map[string]string) *gatewayv1.AllowedListeners {
		a := &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: &from}}
		if sel != nil {
			a.Namespaces.Selector = &metav1.LabelSelector{MatchLabels: sel}
		}
		return a
	}
	shop := gateway.Namespace{Name: "shop", Labels: map[string]string{"tenant": "yes"}}
	tests := map[string]struct {
		allowed *gatewayv1.AllowedListeners
		ns      gateway.Namespace
		want    bool
	}{
		"unset: None":              {ns: shop},
		"namespaces unset: None":   {allowed: &gatewayv1.AllowedListeners{}, ns: shop},
		"None":                     {allowed: allowed(gatewayv1.NamespacesFromNone, nil), ns: shop},
		"All":                      {allowed: allowed(gatewayv1.NamespacesFromAll, nil), ns: shop, want: true},
		"Same, other namespace":    {allowed: allowed(gatewayv1.NamespacesFromSame, nil), ns: shop},
		"Same, its namespace":      {allowed: allowed(gatewayv1.NamespacesFromSame, nil), ns: gateway.Namespace{Name: "apps"}, want: true},
		"Selector matching":        {allowed: allowed(gatewayv1.NamespacesFromSelector, map[string]string{"tenant": "yes"}), ns: shop, want: true},
		"Selector not matching":    {allowed: allowed(gatewayv1.NamespacesFromSelector, map[string]string{"tenant": "no"}), ns: shop},
		"Selector without one":     {allowed: allowed(gatewayv1.NamespacesFromSelector, nil), ns: shop},
		"from unset (CRD: None)":   {allowed: &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{}}, ns: shop},
		"from unset, its own too":  {allowed: &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{}}, ns: gateway.Namespace{Name: "apps"}},
		"All, the Gateway's own":   {allowed: allowed(gatewayv1.NamespacesFromAll, nil), ns: gateway.Namespace{Name: "apps"}, want: true},
		"Selector, empty selector": {allowed: allowed(gatewayv1.NamespacesFromSelector, map[string]string{}), ns: shop, want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			gw := gatewayAPIGateway(nil)
			gw.Spec.AllowedListeners = tc.allowed
			if got := ListenerSetAllowed(gw, tc.ns); got != tc.want {
				t.Errorf("ListenerSetAllowed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestListenerSetIssuer(t *testing.T) {
	teamIssuer := edgecertv1alpha1.IssuerReference{Kind: "Issuer", Name: "team"}
	tests := map[string]struct {
		ls, gw  map[string]string
		noGW    bool
		want    edgecertv1alpha1.IssuerReference
		wantErr string
	}{
		"its own Issuer":                    {ls: map[string]string{IssuerAnnotation: "team"}, gw: map[string]string{ClusterIssuerAnnotation: "letsencrypt"}, want: teamIssuer},
		"its own ClusterIssuer":             {ls: map[string]string{ClusterIssuerAnnotation: "letsencrypt"}, noGW: true, want: clusterLE},
		"the Gateway's ClusterIssuer":       {gw: map[string]string{ClusterIssuerAnnotation: "letsencrypt"}, want: clusterLE},
		"not the Gateway's Issuer":          {gw: map[string]string{IssuerAnnotation: "platform"}},
		"none":                              {gw: map[string]string{}},
		"no Gateway":                        {noGW: true},
		"the Gateway's bad annotations":     {gw: map[string]string{ClusterIssuerAnnotation: "a", IssuerAnnotation: "b"}},
		"its own contradicting":             {ls: map[string]string{ClusterIssuerAnnotation: "a", IssuerAnnotation: "b"}, wantErr: "keep one"},
		"cert-manager's ignored on its own": {ls: map[string]string{CMClusterIssuerAnnotation: "letsencrypt"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var gw *gatewayv1.Gateway
			if !tc.noGW {
				gw = gatewayAPIGateway(tc.gw)
			}
			got, ok, err := ListenerSetIssuer(listenerSet("shop", tc.ls, gatewayParent("apps", "web")), gw)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tc.want != edgecertv1alpha1.IssuerReference{}) || got != tc.want {
				t.Errorf("ListenerSetIssuer = %+v, %v; want %+v", got, ok, tc.want)
			}
		})
	}
}

func TestListenerSetCertificates(t *testing.T) {
	https, tls := gatewayv1.HTTPSProtocolType, gatewayv1.TLSProtocolType
	fromSets := gatewayv1beta1.ReferenceGrantFrom{Group: gatewayv1.GroupName, Kind: "ListenerSet", Namespace: "shop"}
	shopIn := func(ns string) Certificate { return cert(ns, "shop-tls", "shop.example.com") }
	tests := map[string]struct {
		ls      *gatewayv1.ListenerSet
		grants  []gatewayv1beta1.ReferenceGrant
		want    GatewayAPIResult
		wantErr string
	}{
		"listeners with a hostname, in the ListenerSet's namespace; without hostname, HTTP and Passthrough none": {
			ls: listenerSet("shop", nil, gatewayParent("edge", "web"),
				listener("shop", https, "shop.example.com", "", secretRef("shop-tls")),
				listener("www", https, "www.shop.example.com", "", secretRef("shop-tls")),
				listener("db", tls, "db.shop.example.com", gatewayv1.TLSModeTerminate, secretRef("db-tls")),
				listener("any", https, "", "", secretRef("any-tls")),
				listener("http", gatewayv1.HTTPProtocolType, "shop.example.com", ""),
				listener("pass", tls, "pass.shop.example.com", gatewayv1.TLSModePassthrough, secretRef("pass-tls"))),
			want: GatewayAPIResult{Certificates: []Certificate{cert("shop", "shop-tls", "shop.example.com", "www.shop.example.com"), cert("shop", "db-tls", "db.shop.example.com")}},
		},
		"another namespace without a grant": {
			ls:   listenerSet("shop", nil, gatewayParent("edge", "web"), listener("shop", https, "shop.example.com", "", secretRefIn("certs", "shop-tls"))),
			want: GatewayAPIResult{Refused: []RefusedRef{{FromKind: "ListenerSet", GatewayNamespace: "shop", Namespace: "certs", Name: "shop-tls", Listeners: []string{"shop"}}}},
		},
		"another namespace with a grant from ListenerSets": {
			ls:     listenerSet("shop", nil, gatewayParent("edge", "web"), listener("shop", https, "shop.example.com", "", secretRefIn("certs", "shop-tls"))),
			grants: []gatewayv1beta1.ReferenceGrant{grant("certs", fromSets, toSecret("shop-tls"))},
			want:   GatewayAPIResult{Certificates: []Certificate{shopIn("certs")}},
		},
		"a grant from Gateways does not do for a ListenerSet": {
			ls:     listenerSet("shop", nil, gatewayParent("edge", "web"), listener("shop", https, "shop.example.com", "", secretRefIn("certs", "shop-tls"))),
			grants: []gatewayv1beta1.ReferenceGrant{grant("certs", fromGateways("shop"), toSecret("shop-tls"))},
			want:   GatewayAPIResult{Refused: []RefusedRef{{FromKind: "ListenerSet", GatewayNamespace: "shop", Namespace: "certs", Name: "shop-tls", Listeners: []string{"shop"}}}},
		},
		"its own key annotations": {
			ls: listenerSet("shop", map[string]string{PrivateKeyAlgorithmAnnotation: "RSA"}, gatewayParent("edge", "web"), listener("shop", https, "shop.example.com", "", secretRef("shop-tls"))),
			want: GatewayAPIResult{Certificates: []Certificate{{Namespace: "shop", Name: "shop-tls", Spec: edgecertv1alpha1.CertificateSpec{
				DNSNames: []string{"shop.example.com"}, SecretName: "shop-tls", IssuerRef: clusterLE, PrivateKey: &edgecertv1alpha1.PrivateKeySpec{Algorithm: "RSA"}}}}},
		},
		"bad annotation": {
			ls:      listenerSet("shop", map[string]string{RenewBeforeAnnotation: "soon"}, gatewayParent("edge", "web"), listener("shop", https, "shop.example.com", "", secretRef("shop-tls"))),
			wantErr: "positive duration",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ListenerSetCertificates(tc.ls, KindListenerSet, clusterLE, tc.grants, GatewayAPIRoutes{})
			checkResult(t, got, err, tc.want, tc.wantErr)
		})
	}
	ls := listenerSet("shop", nil, gatewayParent("edge", "web"),
		listener("a", https, "a.example.com", "", secretRefIn("certs", "a"), secretRef("b")),
		listener("b", https, "", "", secretRefIn("other", "c")))
	if diff := cmp.Diff([]string{"certs", "other"}, ListenerSetRefNamespaces(ls)); diff != "" {
		t.Errorf("ListenerSetRefNamespaces (-want +got):\n%s", diff)
	}
	wantMsg := `certificateRef Secret certs/shop-tls (listener shop): no ReferenceGrant in namespace certs allows it ` +
		`(from group gateway.networking.k8s.io kind ListenerSet namespace shop, to group "" kind Secret name shop-tls or empty); no Certificate for it`
	if got := (RefusedRef{FromKind: "ListenerSet", GatewayNamespace: "shop", Namespace: "certs", Name: "shop-tls", Listeners: []string{"shop"}}).String(); got != wantMsg {
		t.Errorf("message\n got %s\nwant %s", got, wantMsg)
	}
}

// TestListenerRouteHosts: what a listener's attached routes serve there,
// whatever the Gateway's listener-hostnames annotation (the DNS records
// of a wildcard listener's routes need no annotation).
func TestListenerRouteHosts(t *testing.T) {
	all := allowedFrom(gatewayv1.NamespacesFromAll, nil)
	wildcard := listener("wild", gatewayv1.HTTPSProtocolType, "*.example.com", "", secretRef("wild-tls"))
	wildcard.AllowedRoutes = all
	toWeb := []gatewayv1.ParentReference{parentRef("apps", "web", "", 0)}
	shop := route(KindHTTPRoute, "shop", "shop", toWeb, "www.shop.example.com", "shop.example.net", "*")
	greedy := route(KindGRPCRoute, "blog", "greedy", toWeb, "blog.example.com", "pay.shop.example.com")
	routes := GatewayAPIRoutes{
		Routes:         []Route{shop, greedy},
		Namespaces:     map[string]gateway.Namespace{"shop": {Name: "shop"}, "blog": {Name: "blog"}},
		Policies:       []edgecertv1alpha1.GatewayPolicy{claimPolicy(map[string][]string{"shop": {"shop.example.com"}, "blog": {"blog.example.com"}})},
		ClaimsEnforced: true,
	}
	hosts, unclaimed := ListenerRouteHosts(GatewayParent(gatewayAPIGateway(nil, wildcard)), wildcard, routes)
	if diff := cmp.Diff([]string{"www.shop.example.com"}, hosts); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	want := []UnclaimedRoute{{Route: greedy, Parent: Parent{Group: "gateway.networking.k8s.io", Kind: "Gateway", Namespace: "apps", Name: "web"}, Hosts: []string{"pay.shop.example.com"}}}
	if diff := cmp.Diff(want, unclaimed); diff != "" {
		t.Errorf("unclaimed (-want +got):\n%s", diff)
	}
}

// TestListenerSetCertificatesFromRoutes: a ListenerSet's catch-all
// listener certifies the claimed hostnames of the routes whose parentRefs
// name the ListenerSet (not its Gateway), by sectionName and port, as its
// allowedRoutes admit them (Same: the ListenerSet's namespace); an
// XListenerSet is named with its own group and kind, by routes and by
// ReferenceGrants.
func TestListenerSetCertificatesFromRoutes(t *testing.T) {
	https := gatewayv1.HTTPSProtocolType
	catchAll := listener("any", https, "", "", secretRef("any-tls"))
	catchAll.Port = 443
	catchAll.AllowedRoutes = allowedFrom(gatewayv1.NamespacesFromSelector, map[string]string{"team": "shop"})
	same := listener("same", https, "", "", secretRef("same-tls"))
	same.Port = 8443
	ls := listenerSet("shop", nil, gatewayParent("edge", "web"), catchAll, same)
	toSet := func(group, kind, ns, section string, port int32) []gatewayv1.ParentReference {
		p := parentRef(ns, "tenant", section, port)
		g, k := gatewayv1.Group(group), gatewayv1.Kind(kind)
		p.Group, p.Kind = &g, &k
		return []gatewayv1.ParentReference{p}
	}
	greedy := route(KindHTTPRoute, "shop-b", "greedy", toSet(gatewayv1.GroupName, "ListenerSet", "shop", "any", 0), "pay.shop.example.com")
	routes := GatewayAPIRoutes{
		Routes: []Route{
			route(KindHTTPRoute, "shop", "www", toSet(gatewayv1.GroupName, "ListenerSet", "", "", 0), "www.shop.example.com"),
			route(KindGRPCRoute, "shop-b", "api", toSet(gatewayv1.GroupName, "ListenerSet", "shop", "", 443), "api.shop-b.example.com"),
			greedy,
			// Named by section and port of the other listener, by the parent
			// Gateway, by the experimental kind, or from a namespace the
			// selector leaves out: not attached to "any".
			route(KindHTTPRoute, "shop-b", "other-port", toSet(gatewayv1.GroupName, "ListenerSet", "shop", "", 80), "port.shop-b.example.com"),
			route(KindHTTPRoute, "shop", "gateway", []gatewayv1.ParentReference{parentRef("edge", "web", "", 0)}, "gw.shop.example.com"),
			route(KindHTTPRoute, "shop", "x", toSet(XGroupName, KindXListenerSet, "", "", 0), "x.shop.example.com"),
			route(KindHTTPRoute, "blog", "blog", toSet(gatewayv1.GroupName, "ListenerSet", "shop", "", 0), "blog.shop.example.com"),
		},
		Namespaces: map[string]gateway.Namespace{
			"shop": {Name: "shop", Labels: map[string]string{"team": "shop"}}, "shop-b": {Name: "shop-b", Labels: map[string]string{"team": "shop"}}, "blog": {Name: "blog"},
		},
		Policies: []edgecertv1alpha1.GatewayPolicy{claimPolicy(map[string][]string{
			"shop": {"shop.example.com"}, "shop-b": {"shop-b.example.com"}, "blog": {"blog.shop.example.com"},
		})},
		ClaimsEnforced: true,
	}
	got, err := ListenerSetCertificates(ls, KindListenerSet, clusterLE, nil, routes)
	want := GatewayAPIResult{
		Certificates: []Certificate{
			cert("shop", "any-tls", "api.shop-b.example.com", "www.shop.example.com"),
			// Same admits the ListenerSet's namespace only.
			cert("shop", "same-tls", "www.shop.example.com"),
		},
		Unclaimed: []UnclaimedRoute{{Route: greedy, Parent: Parent{Group: "gateway.networking.k8s.io", Kind: "ListenerSet", Namespace: "shop", Name: "tenant"},
			Hosts: []string{"pay.shop.example.com"}}},
	}
	checkResult(t, got, err, want, "")
	if msg := "namespace shop-b has no claim on pay.shop.example.com: a GatewayPolicy's spec.claims must give it the host (docs/security.md); " +
		"HTTPRoute shop-b/greedy is left out of the certificates of ListenerSet shop/tenant, the other routes are still served"; len(got.Unclaimed) == 1 && got.Unclaimed[0].String() != msg {
		t.Errorf("message\n got %s\nwant %s", got.Unclaimed[0].String(), msg)
	}

	// The same spec read from an XListenerSet: the routes naming the
	// experimental kind attach, and a grant must come from XListenerSets.
	xls := listenerSet("shop", nil, gatewayParent("edge", "web"), same, listener("far", https, "far.shop.example.com", "", secretRefIn("certs", "far-tls")))
	fromX := gatewayv1beta1.ReferenceGrantFrom{Group: XGroupName, Kind: KindXListenerSet, Namespace: "shop"}
	got, err = ListenerSetCertificates(xls, KindXListenerSet, clusterLE, []gatewayv1beta1.ReferenceGrant{grant("certs", fromX, toSecret(""))}, routes)
	checkResult(t, got, err, GatewayAPIResult{Certificates: []Certificate{cert("shop", "same-tls", "x.shop.example.com"), cert("certs", "far-tls", "far.shop.example.com")}}, "")
	got, err = ListenerSetCertificates(xls, KindXListenerSet, clusterLE, nil, routes)
	checkResult(t, got, err, GatewayAPIResult{Certificates: []Certificate{cert("shop", "same-tls", "x.shop.example.com")},
		Refused: []RefusedRef{{FromKind: "XListenerSet", FromGroup: "gateway.networking.x-k8s.io", GatewayNamespace: "shop", Namespace: "certs", Name: "far-tls", Listeners: []string{"far"}}}}, "")
	wantMsg := `certificateRef Secret certs/far-tls (listener far): no ReferenceGrant in namespace certs allows it ` +
		`(from group gateway.networking.x-k8s.io kind XListenerSet namespace shop, to group "" kind Secret name far-tls or empty); no Certificate for it`
	if len(got.Refused) == 1 && got.Refused[0].String() != wantMsg {
		t.Errorf("message\n got %s\nwant %s", got.Refused[0].String(), wantMsg)
	}
	if diff := cmp.Diff([]string{"shop/tenant"}, ParentsOf(routes.Routes[5], XGroupName, KindXListenerSet)); diff != "" {
		t.Errorf("ParentsOf XListenerSet (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"shop/tenant"}, ParentsOf(routes.Routes[1], gatewayv1.GroupName, KindListenerSet)); diff != "" {
		t.Errorf("ParentsOf ListenerSet (-want +got):\n%s", diff)
	}
}
