package gateway

import (
	"fmt"
	"slices"
	"time"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// Contender is a GatewayService competing for a place in one Gateway.
type Contender struct {
	// Key is "namespace/name".
	Key string
	// Created is the GatewayService's creation time: among servers not
	// yet in the Gateway, the older claim wins.
	Created time.Time
	// Desired is the server its spec asks for; nil when the spec cannot be
	// served (invalid, unclaimed hosts), so it claims nothing.
	Desired *Server
	// Current is its server in the Gateway now, nil when there is none.
	Current *Server
}

// Neighbour is a server of another Gateway object whose selector may pick
// the same gateway pods: Istio merges the servers of every Gateway a pod
// is selected by, so a host or a port there clashes as if it were in the
// same Gateway (port names are per Gateway and do not).
type Neighbour struct {
	// Gateway is "namespace/name" of the other Gateway.
	Gateway string
	Server  Server
}

// Conflict says why a server cannot go into the Gateway. Reason is one of
// ReasonHostConflict, ReasonPortConflict and ReasonPortNameConflict;
// Message names the other server and is stable.
type Conflict struct {
	Reason  string
	Message string
}

// older orders contenders by creation time, then key, so that every
// replica and every pass decides the same way.
func older(a, b Contender) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	return a.Key < b.Key
}

// Check decides whether me.Desired may go into a Gateway that holds the
// hand-written servers and whose other edgecert servers are others'
// Current: it is Decide's verdict on me. It returns nil when me.Desired
// may be written. A rejected me keeps its Current server; Check never
// decides about anyone else's server.
func Check(me Contender, handWritten []Server, neighbours []Neighbour, others []Contender) *Conflict {
	all := make([]Contender, 0, len(others)+1)
	for _, o := range others {
		if o.Key != me.Key {
			all = append(all, o)
		}
	}
	return Decide(handWritten, neighbours, append(all, me))[me.Key]
}

// Decide decides, for every contender with a desired server, whether it
// may go into a Gateway that holds the hand-written servers and the
// contenders' Current servers. Istio itself only refuses duplicate port
// names; two servers on one port with overlapping hosts are accepted and
// the newer one is silently dropped, so edgecert refuses them first. The
// rules, in order:
//
//  1. a hand-written server always keeps what it has, and so does every
//     server of a neighbouring Gateway (one on the same pods);
//  2. a server already in the Gateway keeps what it has: nobody else's
//     spec change takes its host, port or port name;
//  3. between servers not yet there, the older GatewayService wins, and
//     only an accepted one holds a place: contenders are decided oldest
//     first, and one refused for any reason (a clash with a hand-written
//     or a current server, or with an older accepted one) blocks nobody.
//
// The result holds a Conflict for each refused contender; accepted ones
// and those that desire nothing are absent. Contenders' desired servers
// that are accepted never clash with each other, nor with a server that
// stays in the Gateway.
func Decide(handWritten []Server, neighbours []Neighbour, contenders []Contender) map[string]*Conflict {
	contenders = slices.Clone(contenders)
	slices.SortFunc(contenders, func(a, b Contender) int {
		switch {
		case older(a, b):
			return -1
		case older(b, a):
			return 1
		}
		return 0
	})
	refused := map[string]*Conflict{}
	var accepted []Contender
	for _, me := range contenders {
		if me.Desired == nil {
			continue
		}
		if c := checkOne(me, handWritten, neighbours, contenders, accepted); c != nil {
			refused[me.Key] = c
			continue
		}
		accepted = append(accepted, me)
	}
	return refused
}

// checkOne is Decide's verdict on me, given the contenders (in age order)
// and those accepted before me (all older).
func checkOne(me Contender, handWritten []Server, neighbours []Neighbour, contenders, accepted []Contender) *Conflict {
	for _, h := range handWritten {
		if c := clash(*me.Desired, h); c != nil {
			return &Conflict{Reason: c.Reason, Message: fmt.Sprintf("%s a server not managed by edgecert (port name %q)", c.Message, h.Port.Name)}
		}
	}
	for _, n := range neighbours {
		if c := clashOnPort(*me.Desired, n.Server); c != nil {
			return &Conflict{Reason: c.Reason, Message: fmt.Sprintf("%s Gateway %s, which selects the same gateway pods (port name %q)", c.Message, n.Gateway, n.Server.Port.Name)}
		}
	}
	for _, o := range contenders {
		if o.Key == me.Key || o.Current == nil {
			continue
		}
		if c := clash(*me.Desired, *o.Current); c != nil {
			return &Conflict{Reason: c.Reason, Message: fmt.Sprintf("%s GatewayService %s, which is already in the Gateway", c.Message, o.Key)}
		}
	}
	for _, o := range accepted {
		if c := clash(*me.Desired, *o.Desired); c != nil {
			return &Conflict{Reason: c.Reason, Message: fmt.Sprintf("%s GatewayService %s, which is older", c.Message, o.Key)}
		}
	}
	return nil
}

// MaySharePods reports whether two Gateway selectors may pick the same
// gateway pods: one's labels are a subset of the other's (an empty
// selector picks every gateway pod). Pods are not read: two selectors
// neither of which contains the other are taken to pick different pods.
func MaySharePods(a, b map[string]string) bool {
	subset := func(x, y map[string]string) bool {
		for k, v := range x {
			if w, ok := y[k]; !ok || w != v {
				return false
			}
		}
		return true
	}
	return subset(a, b) || subset(b, a)
}

// clash says whether two servers can live in one Gateway. Message is
// completed by the caller with who holds the other server.
func clash(a, b Server) *Conflict {
	if a.Port.Name == b.Port.Name {
		return &Conflict{Reason: edgecertv1alpha1.ReasonPortNameConflict, Message: fmt.Sprintf("port name %q is used by", a.Port.Name)}
	}
	return clashOnPort(a, b)
}

// clashOnPort is clash without the port name: whether two servers on the
// same pods can share a port.
func clashOnPort(a, b Server) *Conflict {
	if a.Port.Number != b.Port.Number {
		return nil
	}
	fa, fb := family(a.Port.Protocol), family(b.Port.Protocol)
	if fa != fb {
		return &Conflict{Reason: edgecertv1alpha1.ReasonPortConflict, Message: fmt.Sprintf("port %d speaks %s in", a.Port.Number, b.Port.Protocol)}
	}
	if fa == familyTCP {
		return &Conflict{Reason: edgecertv1alpha1.ReasonPortConflict, Message: fmt.Sprintf("plain TCP port %d cannot be shared by host and is used by", a.Port.Number)}
	}
	for _, ha := range a.Hosts {
		for _, hb := range b.Hosts {
			if Overlap(DNSName(ha), DNSName(hb)) {
				return &Conflict{Reason: edgecertv1alpha1.ReasonHostConflict, Message: fmt.Sprintf("host %s on port %d overlaps %s of", DNSName(ha), a.Port.Number, DNSName(hb))}
			}
		}
	}
	return nil
}
