package gateway

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

func srv(port uint32, protocol, name string, hosts ...string) *Server {
	return &Server{Port: Port{Number: port, Protocol: protocol, Name: name}, Hosts: hosts}
}

func TestCheck(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	handWritten := []Server{
		*srv(80, "HTTP", "http", "*/www.example.com"),
		*srv(9000, "TCP", "tcp-db", "*"),
	}
	for name, tc := range map[string]struct {
		me     Contender
		others []Contender
		want   *Conflict
	}{
		"free": {
			me: Contender{Key: "a/x", Created: t1, Desired: srv(443, "HTTPS", "https-x-a", "a/x.example.com")},
		},
		"hand-written host": {
			me:   Contender{Key: "a/x", Created: t1, Desired: srv(80, "HTTP", "http-x-a", "a/www.example.com")},
			want: &Conflict{Reason: edgecertv1alpha1.ReasonHostConflict, Message: `host www.example.com on port 80 overlaps www.example.com of a server not managed by edgecert (port name "http")`},
		},
		"hand-written port name": {
			me:   Contender{Key: "a/x", Created: t1, Desired: srv(8080, "HTTP", "http", "a/x.example.com")},
			want: &Conflict{Reason: edgecertv1alpha1.ReasonPortNameConflict, Message: `port name "http" is used by a server not managed by edgecert (port name "http")`},
		},
		"hand-written plain TCP port": {
			me:   Contender{Key: "a/x", Created: t1, Desired: srv(9000, "TCP", "tcp-x-a", "a/db.example.com")},
			want: &Conflict{Reason: edgecertv1alpha1.ReasonPortConflict, Message: `plain TCP port 9000 cannot be shared by host and is used by a server not managed by edgecert (port name "tcp-db")`},
		},
		"protocol mismatch": {
			me:   Contender{Key: "a/x", Created: t1, Desired: srv(80, "HTTPS", "https-x-a", "a/x.example.com")},
			want: &Conflict{Reason: edgecertv1alpha1.ReasonPortConflict, Message: `port 80 speaks HTTP in a server not managed by edgecert (port name "http")`},
		},
		"https and tls share a port by SNI": {
			me:     Contender{Key: "a/x", Created: t1, Desired: srv(443, "TLS", "tls-x-a", "a/x.example.com")},
			others: []Contender{{Key: "b/y", Created: t0, Current: srv(443, "HTTPS", "https-y-b", "b/y.example.com")}},
		},
		"older in the gateway wins": {
			me:     Contender{Key: "a/x", Created: t1, Desired: srv(443, "HTTPS", "https-x-a", "a/shop.example.com")},
			others: []Contender{{Key: "b/y", Created: t0, Current: srv(443, "HTTPS", "https-y-b", "b/shop.example.com")}},
			want:   &Conflict{Reason: edgecertv1alpha1.ReasonHostConflict, Message: "host shop.example.com on port 443 overlaps shop.example.com of GatewayService b/y, which is already in the Gateway"},
		},
		"newer in the gateway still keeps its host": {
			me:     Contender{Key: "a/x", Created: t0, Desired: srv(443, "HTTPS", "https-x-a", "a/shop.example.com")},
			others: []Contender{{Key: "b/y", Created: t1, Current: srv(443, "HTTPS", "https-y-b", "b/*.example.com"), Desired: srv(443, "HTTPS", "https-y-b", "b/*.example.com")}},
			want:   &Conflict{Reason: edgecertv1alpha1.ReasonHostConflict, Message: "host shop.example.com on port 443 overlaps *.example.com of GatewayService b/y, which is already in the Gateway"},
		},
		"older not yet in the gateway wins": {
			me:     Contender{Key: "a/x", Created: t1, Desired: srv(443, "HTTPS", "https-x-a", "a/shop.example.com")},
			others: []Contender{{Key: "b/y", Created: t0, Desired: srv(443, "HTTPS", "https-y-b", "b/*.example.com")}},
			want:   &Conflict{Reason: edgecertv1alpha1.ReasonHostConflict, Message: "host shop.example.com on port 443 overlaps *.example.com of GatewayService b/y, which is older"},
		},
		"newer not yet in the gateway loses": {
			me:     Contender{Key: "a/x", Created: t0, Desired: srv(443, "HTTPS", "https-x-a", "a/shop.example.com")},
			others: []Contender{{Key: "b/y", Created: t1, Desired: srv(443, "HTTPS", "https-y-b", "b/shop.example.com")}},
		},
		"same creation time: key order decides": {
			me:     Contender{Key: "b/y", Created: t0, Desired: srv(443, "HTTPS", "https-y-b", "b/shop.example.com")},
			others: []Contender{{Key: "a/x", Created: t0, Desired: srv(443, "HTTPS", "https-x-a", "a/shop.example.com")}},
			want:   &Conflict{Reason: edgecertv1alpha1.ReasonHostConflict, Message: "host shop.example.com on port 443 overlaps shop.example.com of GatewayService a/x, which is older"},
		},
		"incumbent keeps what it holds against an older claim": {
			me: Contender{Key: "a/x", Created: t1, Current: srv(443, "HTTPS", "https-x-a", "a/shop.example.com"),
				Desired: srv(443, "HTTPS", "https-x-a", "a/shop.example.com", "a/new.example.com")},
			others: []Contender{{Key: "b/y", Created: t0, Desired: srv(443, "HTTPS", "https-y-b", "b/shop.example.com")}},
		},
		"incumbent's new host yields to an older claim": {
			me: Contender{Key: "a/x", Created: t1, Current: srv(443, "HTTPS", "https-x-a", "a/shop.example.com"),
				Desired: srv(443, "HTTPS", "https-x-a", "a/shop.example.com", "a/new.example.com")},
			others: []Contender{{Key: "b/y", Created: t0, Desired: srv(443, "HTTPS", "https-y-b", "b/new.example.com")}},
			want:   &Conflict{Reason: edgecertv1alpha1.ReasonHostConflict, Message: "host new.example.com on port 443 overlaps new.example.com of GatewayService b/y, which is older"},
		},
		"different ports do not clash": {
			me:     Contender{Key: "a/x", Created: t1, Desired: srv(8443, "HTTPS", "https-x-a", "a/shop.example.com")},
			others: []Contender{{Key: "b/y", Created: t0, Current: srv(443, "HTTPS", "https-y-b", "b/shop.example.com")}},
		},
		"port name collision across ports": {
			me:     Contender{Key: "a-b/c", Created: t1, Desired: srv(8443, "HTTPS", "https-c-a-b", "a-b/c.example.com")},
			others: []Contender{{Key: "b/c-a", Created: t0, Current: srv(443, "HTTPS", "https-c-a-b", "b/x.example.com")}},
			want:   &Conflict{Reason: edgecertv1alpha1.ReasonPortNameConflict, Message: `port name "https-c-a-b" is used by GatewayService b/c-a, which is already in the Gateway`},
		},
		"own current server is no obstacle": {
			me:     Contender{Key: "a/x", Created: t1, Current: srv(443, "HTTPS", "https-x-a", "a/shop.example.com"), Desired: srv(443, "HTTPS", "https-x-a", "a/shop.example.com")},
			others: []Contender{{Key: "a/x", Created: t1, Current: srv(443, "HTTPS", "https-x-a", "a/shop.example.com")}},
		},
		"nothing desired": {
			me: Contender{Key: "a/x"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := Check(tc.me, handWritten, nil, tc.others)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckIsConsistent checks, for pairs of contenders, that the two
// sides never both win: two servers that clash are never both written.
func TestCheckIsConsistent(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	servers := []*Server{
		nil,
		srv(443, "HTTPS", "https-x-a", "a/shop.example.com"),
		srv(443, "HTTPS", "https-x-a", "a/*.example.com"),
		srv(443, "HTTPS", "https-x-a", "a/other.example.com"),
	}
	others := []*Server{
		nil,
		srv(443, "HTTPS", "https-y-b", "b/shop.example.com"),
		srv(443, "HTTPS", "https-y-b", "b/www.example.com"),
	}
	for _, aCur := range servers {
		for _, aDes := range servers[1:] {
			for _, bCur := range others {
				for _, bDes := range others[1:] {
					for _, aOlder := range []bool{true, false} {
						if aCur != nil && bCur != nil && clash(*aCur, *bCur) != nil {
							continue // cannot both be in the Gateway
						}
						ta, tb := t0, t0.Add(time.Second)
						if !aOlder {
							ta, tb = tb, ta
						}
						a := Contender{Key: "a/x", Created: ta, Current: aCur, Desired: aDes}
						b := Contender{Key: "b/y", Created: tb, Current: bCur, Desired: bDes}
						aWins := Check(a, nil, nil, []Contender{b}) == nil
						bWins := Check(b, nil, nil, []Contender{a}) == nil
						if aWins && bWins && clash(*aDes, *bDes) != nil {
							t.Errorf("both win: a=%+v b=%+v", a, b)
						}
						// A winner's new server never clashes with the
						// other's current one.
						if aWins && bCur != nil && clash(*aDes, *bCur) != nil {
							t.Errorf("a displaces b's current server: a=%+v b=%+v", a, b)
						}
					}
				}
			}
		}
	}
}

// TestRefusedContenderBlocksNobody: an older GatewayService refused for a
// reason of its own never causes a newer one to be refused.
func TestRefusedContenderBlocksNobody(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	handWritten := []Server{*srv(443, "HTTPS", "https-admin", "*/admin.example.com")}
	for name, tc := range map[string]struct {
		contenders []Contender
		want       map[string]*Conflict
	}{
		"older clashes with a hand-written server": {
			contenders: []Contender{
				{Key: "old/a", Created: t0, Desired: srv(443, "HTTPS", "https-a-old", "old/admin.example.com", "old/*.shop.example.com")},
				{Key: "new/b", Created: t1, Desired: srv(443, "HTTPS", "https-b-new", "new/www.shop.example.com")},
			},
			want: map[string]*Conflict{
				"old/a": {Reason: edgecertv1alpha1.ReasonHostConflict, Message: `host admin.example.com on port 443 overlaps admin.example.com of a server not managed by edgecert (port name "https-admin")`},
			},
		},
		"older clashes with a server already in the Gateway": {
			contenders: []Contender{
				{Key: "old/a", Created: t0, Desired: srv(443, "HTTPS", "https-a-old", "old/*.shop.example.com")},
				{Key: "held/c", Created: t2, Current: srv(443, "HTTPS", "https-c-held", "held/pay.shop.example.com"), Desired: srv(443, "HTTPS", "https-c-held", "held/pay.shop.example.com")},
				{Key: "new/b", Created: t1, Desired: srv(443, "HTTPS", "https-b-new", "new/www.shop.example.com")},
			},
			want: map[string]*Conflict{
				"old/a": {Reason: edgecertv1alpha1.ReasonHostConflict, Message: "host *.shop.example.com on port 443 overlaps pay.shop.example.com of GatewayService held/c, which is already in the Gateway"},
			},
		},
		"older refused by an even older accepted one": {
			contenders: []Contender{
				{Key: "first/z", Created: t0, Desired: srv(9000, "TCP", "tcp-z-first", "*")},
				{Key: "old/a", Created: t1, Desired: srv(8443, "HTTPS", "tcp-z-first", "old/*.shop.example.com")},
				{Key: "new/b", Created: t2, Desired: srv(8443, "HTTPS", "https-b-new", "new/www.shop.example.com")},
			},
			want: map[string]*Conflict{
				"old/a": {Reason: edgecertv1alpha1.ReasonPortNameConflict, Message: `port name "tcp-z-first" is used by GatewayService first/z, which is older`},
			},
		},
		"accepted older still wins": {
			contenders: []Contender{
				{Key: "old/a", Created: t0, Desired: srv(443, "HTTPS", "https-a-old", "old/*.shop.example.com")},
				{Key: "new/b", Created: t1, Desired: srv(443, "HTTPS", "https-b-new", "new/www.shop.example.com")},
			},
			want: map[string]*Conflict{
				"new/b": {Reason: edgecertv1alpha1.ReasonHostConflict, Message: "host www.shop.example.com on port 443 overlaps *.shop.example.com of GatewayService old/a, which is older"},
			},
		},
		"one mistake on 443 keeps nobody off 443": {
			contenders: []Contender{
				{Key: "old/a", Created: t0, Desired: srv(443, "HTTP", "http-a-old", "old/a.example.com")},
				{Key: "new/b", Created: t1, Desired: srv(443, "HTTPS", "https-b-new", "new/b.example.com")},
				{Key: "new/c", Created: t2, Desired: srv(443, "HTTPS", "https-c-new", "new/c.example.com")},
			},
			want: map[string]*Conflict{
				"old/a": {Reason: edgecertv1alpha1.ReasonPortConflict, Message: `port 443 speaks HTTPS in a server not managed by edgecert (port name "https-admin")`},
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Decide(handWritten, nil, tc.contenders)); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
			// Check agrees with Decide for each contender.
			for _, me := range tc.contenders {
				var others []Contender
				for _, o := range tc.contenders {
					if o.Key != me.Key {
						others = append(others, o)
					}
				}
				if diff := cmp.Diff(tc.want[me.Key], Check(me, handWritten, nil, others)); diff != "" {
					t.Errorf("Check(%s) (-want +got):\n%s", me.Key, diff)
				}
			}
		})
	}
}

func TestNeighbouringGateways(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	neighbours := []Neighbour{
		{Gateway: "apps/legacy", Server: *srv(443, "HTTPS", "https", "*/shop.example.com")},
		{Gateway: "apps/legacy", Server: *srv(9000, "TCP", "tcp", "*")},
	}
	for name, tc := range map[string]struct {
		desired *Server
		want    *Conflict
	}{
		"same port name is fine across Gateways": {desired: srv(443, "HTTPS", "https", "a/x.example.com")},
		"host taken on the same pods": {desired: srv(443, "HTTPS", "https-x-a", "a/shop.example.com"),
			want: &Conflict{Reason: edgecertv1alpha1.ReasonHostConflict, Message: `host shop.example.com on port 443 overlaps shop.example.com of Gateway apps/legacy, which selects the same gateway pods (port name "https")`}},
		"protocol on the same pods": {desired: srv(443, "HTTP", "http-x-a", "a/x.example.com"),
			want: &Conflict{Reason: edgecertv1alpha1.ReasonPortConflict, Message: `port 443 speaks HTTPS in Gateway apps/legacy, which selects the same gateway pods (port name "https")`}},
		"plain TCP port on the same pods": {desired: srv(9000, "TCP", "tcp-x-a", "a/db.example.com"),
			want: &Conflict{Reason: edgecertv1alpha1.ReasonPortConflict, Message: `plain TCP port 9000 cannot be shared by host and is used by Gateway apps/legacy, which selects the same gateway pods (port name "tcp")`}},
	} {
		t.Run(name, func(t *testing.T) {
			me := Contender{Key: "a/x", Created: t0, Desired: tc.desired}
			if diff := cmp.Diff(tc.want, Check(me, nil, neighbours, nil)); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaySharePods(t *testing.T) {
	ingress := map[string]string{"istio": "ingressgateway"}
	for _, tc := range []struct {
		a, b map[string]string
		want bool
	}{
		{ingress, map[string]string{"istio": "ingressgateway"}, true},
		{ingress, map[string]string{"istio": "ingressgateway", "app": "public"}, true},
		{map[string]string{"istio": "ingressgateway", "app": "public"}, ingress, true},
		{ingress, map[string]string{"istio": "egressgateway"}, false},
		{map[string]string{"app": "a"}, map[string]string{"istio": "ingressgateway"}, false},
		{map[string]string{}, ingress, true},
		{nil, nil, true},
	} {
		if got := MaySharePods(tc.a, tc.b); got != tc.want {
			t.Errorf("MaySharePods(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
