package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// DefaultTimeout bounds one DNS query when Resolver.Timeout is zero.
const DefaultTimeout = 2 * time.Second

// maxCNAMEDepth bounds FollowCNAME. Delegations of _acme-challenge are one
// hop in practice; the bound only stops misconfigured chains.
const maxCNAMEDepth = 8

// Resolver answers the DNS questions around a DNS-01 challenge: where a
// CNAME on _acme-challenge delegates the record to, which zone holds it, and
// whether every authoritative server already serves it. The zero value uses
// the system's resolvers from /etc/resolv.conf.
//
// Each method sends a handful of queries and returns; none waits for
// propagation, so a reconciler calls CheckPropagation once per pass and
// requeues while it answers false.
type Resolver struct {
	// Nameservers are the recursive resolvers (host:port) used to find zones,
	// follow CNAMEs and resolve NS names, tried in order. Empty means the
	// servers in /etc/resolv.conf. A private setup can list its own servers
	// here, so split-horizon zones resolve as the ACME CA would see them.
	Nameservers []string
	// AuthoritativeNameservers, when set, are queried as the authoritative
	// servers of every zone instead of the zone's NS records. For test beds
	// and private setups whose name servers listen on another port or whose
	// NS records do not resolve from the controller.
	AuthoritativeNameservers []string
	// AuthoritativePort is the port of the addresses Authoritative derives
	// from NS records. Default 53.
	AuthoritativePort int
	// Timeout bounds each query. Default DefaultTimeout.
	Timeout time.Duration
}

// Target is where the TXT record of one domain's challenge is written.
type Target struct {
	// FQDN is the name that holds the TXT record: _acme-challenge.<domain>.,
	// or the end of the CNAME chain that starts there.
	FQDN string
	// Zone is the apex of the zone that holds FQDN, which the Provider
	// changes.
	Zone string
}

// ChallengeTarget is FollowCNAME then FindZone for domain's challenge name:
// the one call a solver makes before Provider.Present.
func (r *Resolver) ChallengeTarget(ctx context.Context, domain string) (Target, error) {
	fqdn, err := r.FollowCNAME(ctx, ChallengeFQDN(domain))
	if err != nil {
		return Target{}, err
	}
	zone, err := r.FindZone(ctx, fqdn)
	if err != nil {
		return Target{}, err
	}
	return Target{FQDN: fqdn, Zone: zone}, nil
}

// FindZone returns the apex of the zone that holds fqdn, by asking for the
// SOA of fqdn and then of each parent name. A server answers with the SOA
// in the answer at the apex, and in the authority section below it (on
// NXDOMAIN and on NODATA), so the walk usually stops at the first query. A
// name that is a CNAME cannot be an apex, and the SOA that comes with it
// belongs to the CNAME's target, so the walk goes on past it.
func (r *Resolver) FindZone(ctx context.Context, fqdn string) (string, error) {
	name := Fqdn(fqdn)
	var lastErr error
	for candidate := name; ; {
		zone, err := r.soaAt(ctx, candidate)
		if err != nil {
			lastErr = err
		} else if zone != "" {
			return zone, nil
		}
		if candidate == "." {
			break
		}
		candidate = parent(candidate)
	}
	if lastErr != nil {
		return "", fmt.Errorf("find zone of %s: %w", name, lastErr)
	}
	return "", fmt.Errorf("find zone of %s: no SOA record found", name)
}

// soaAt asks for the SOA of name and returns the zone apex the answer
// names, or "" when it names none.
func (r *Resolver) soaAt(ctx context.Context, name string) (string, error) {
	in, err := r.query(ctx, name, mdns.TypeSOA)
	if err != nil {
		return "", err
	}
	switch in.Rcode {
	case mdns.RcodeSuccess, mdns.RcodeNameError:
	default:
		// REFUSED or SERVFAIL here often means "not mine" from a server
		// without recursion; a parent may still be answered.
		return "", rcodeError("SOA", name, "", in.Rcode)
	}
	for _, rr := range in.Answer {
		if c, ok := rr.(*mdns.CNAME); ok && equalNames(c.Hdr.Name, name) {
			return "", nil
		}
	}
	for _, rr := range in.Answer {
		if soa, ok := rr.(*mdns.SOA); ok && equalNames(soa.Hdr.Name, name) {
			return Fqdn(soa.Hdr.Name), nil
		}
	}
	for _, rr := range in.Ns {
		if soa, ok := rr.(*mdns.SOA); ok && mdns.IsSubDomain(soa.Hdr.Name, name) {
			return Fqdn(soa.Hdr.Name), nil
		}
	}
	// A referral from a server that only holds the parent: the NS owner in
	// the authority section is the apex of the child zone.
	if !in.Authoritative {
		for _, rr := range in.Ns {
			if ns, ok := rr.(*mdns.NS); ok && mdns.IsSubDomain(ns.Hdr.Name, name) {
				return Fqdn(ns.Hdr.Name), nil
			}
		}
	}
	return "", nil
}

// FollowCNAME follows a CNAME chain starting at fqdn (typically
// _acme-challenge.<host>.) and returns the name at its end, or fqdn itself
// when it is no CNAME. This is how a domain delegates its challenges to a
// zone the Provider may change (for example, a zone only for ACME, so the
// credentials cannot touch the main zone). The chain is bounded and loops
// are errors.
func (r *Resolver) FollowCNAME(ctx context.Context, fqdn string) (string, error) {
	name := Fqdn(fqdn)
	seen := map[string]bool{name: true}
	for range maxCNAMEDepth {
		in, err := r.query(ctx, name, mdns.TypeCNAME)
		if err != nil {
			return "", fmt.Errorf("follow CNAME from %s: %w", Fqdn(fqdn), err)
		}
		if in.Rcode != mdns.RcodeSuccess && in.Rcode != mdns.RcodeNameError {
			return "", fmt.Errorf("follow CNAME from %s: %w", Fqdn(fqdn), rcodeError("CNAME", name, "", in.Rcode))
		}
		next := ""
		for _, rr := range in.Answer {
			if c, ok := rr.(*mdns.CNAME); ok && equalNames(c.Hdr.Name, name) {
				next = Fqdn(c.Target)
				break
			}
		}
		if next == "" {
			return name, nil
		}
		if seen[next] {
			return "", fmt.Errorf("follow CNAME from %s: loop at %s", Fqdn(fqdn), next)
		}
		seen[next] = true
		name = next
	}
	return "", fmt.Errorf("follow CNAME from %s: chain longer than %d", Fqdn(fqdn), maxCNAMEDepth)
}

// Authoritative returns the addresses (host:port) of zone's authoritative
// name servers: AuthoritativeNameservers when set, else the zone's NS names
// resolved to A and AAAA addresses (glue first) with AuthoritativePort.
func (r *Resolver) Authoritative(ctx context.Context, zone string) ([]string, error) {
	if len(r.AuthoritativeNameservers) > 0 {
		return slices.Clone(r.AuthoritativeNameservers), nil
	}
	zone = Fqdn(zone)
	in, err := r.query(ctx, zone, mdns.TypeNS)
	if err != nil {
		return nil, fmt.Errorf("authoritative servers of %s: %w", zone, err)
	}
	if in.Rcode != mdns.RcodeSuccess {
		return nil, fmt.Errorf("authoritative servers of %s: %w", zone, rcodeError("NS", zone, "", in.Rcode))
	}
	port := strconv.Itoa(r.authoritativePort())
	var addrs []string
	add := func(ip net.IP) {
		a := net.JoinHostPort(ip.String(), port)
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	for _, rr := range in.Answer {
		ns, ok := rr.(*mdns.NS)
		if !ok || !equalNames(ns.Hdr.Name, zone) {
			continue
		}
		glue := false
		for _, extra := range in.Extra {
			switch a := extra.(type) {
			case *mdns.A:
				if equalNames(a.Hdr.Name, ns.Ns) {
					add(a.A)
					glue = true
				}
			case *mdns.AAAA:
				if equalNames(a.Hdr.Name, ns.Ns) {
					add(a.AAAA)
					glue = true
				}
			}
		}
		if glue {
			continue
		}
		for _, qtype := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
			ain, err := r.query(ctx, Fqdn(ns.Ns), qtype)
			if err != nil {
				return nil, fmt.Errorf("authoritative servers of %s: %w", zone, err)
			}
			for _, rr := range ain.Answer {
				switch a := rr.(type) {
				case *mdns.A:
					add(a.A)
				case *mdns.AAAA:
					add(a.AAAA)
				}
			}
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("authoritative servers of %s: no NS record with an address", zone)
	}
	slices.Sort(addrs)
	return addrs, nil
}

// CheckPropagation tells whether value is in the TXT RRset at fqdn on every
// authoritative server of fqdn's zone, asking each of them directly without
// recursion, so no resolver cache can answer with an old RRset. It is one
// check, not a wait: it returns false (and no error) while any server does
// not serve the value yet, and the caller requeues. fqdn is the end of the
// CNAME chain (Target.FQDN).
func (r *Resolver) CheckPropagation(ctx context.Context, fqdn, value string) (bool, error) {
	fqdn = Fqdn(fqdn)
	zone, err := r.FindZone(ctx, fqdn)
	if err != nil {
		return false, err
	}
	servers, err := r.Authoritative(ctx, zone)
	if err != nil {
		return false, err
	}
	for _, server := range servers {
		values, err := r.txtAt(ctx, fqdn, server)
		if err != nil {
			return false, fmt.Errorf("check propagation of %s: %w", fqdn, err)
		}
		if !slices.Contains(values, value) {
			return false, nil
		}
	}
	return true, nil
}

// txtAt returns the TXT values at fqdn that server serves authoritatively.
func (r *Resolver) txtAt(ctx context.Context, fqdn, server string) ([]string, error) {
	m := new(mdns.Msg)
	m.SetQuestion(fqdn, mdns.TypeTXT)
	m.RecursionDesired = false
	in, err := r.exchange(ctx, m, server)
	if err != nil {
		return nil, err
	}
	if in.Rcode == mdns.RcodeNameError {
		return nil, nil
	}
	if in.Rcode != mdns.RcodeSuccess {
		return nil, rcodeError("TXT", fqdn, server, in.Rcode)
	}
	var values []string
	for _, rr := range in.Answer {
		if t, ok := rr.(*mdns.TXT); ok && equalNames(t.Hdr.Name, fqdn) {
			values = append(values, strings.Join(t.Txt, ""))
		}
	}
	return values, nil
}

// query sends a recursive query to the configured resolvers in order and
// returns the first answer; only network failures move on to the next one.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) (*mdns.Msg, error) {
	servers := r.Nameservers
	if len(servers) == 0 {
		conf, err := mdns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("no nameservers configured and /etc/resolv.conf unreadable: %w", err)
		}
		for _, s := range conf.Servers {
			servers = append(servers, net.JoinHostPort(s, conf.Port))
		}
	}
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(4096, false)
	var lastErr error
	for _, server := range servers {
		in, err := r.exchange(ctx, m, server)
		if err == nil {
			return in, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	if lastErr == nil {
		lastErr = errors.New("no nameservers")
	}
	return nil, lastErr
}

// exchange sends m to server over UDP, and again over TCP when the answer
// is truncated. Network errors come back with a stable message wrapping
// ErrRetryable.
func (r *Resolver) exchange(ctx context.Context, m *mdns.Msg, server string) (*mdns.Msg, error) {
	q := m.Question[0]
	c := &mdns.Client{Net: "udp", Timeout: r.timeout()}
	in, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, server)
	}
	if err != nil {
		return nil, Wrap(fmt.Sprintf("query %s %s at %s: %s", mdns.TypeToString[q.Qtype], q.Name, server, NetErrorText(err)), ErrRetryable, err)
	}
	return in, nil
}

func (r *Resolver) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

func (r *Resolver) authoritativePort() int {
	if r.AuthoritativePort > 0 {
		return r.AuthoritativePort
	}
	return 53
}

// rcodeError describes an unexpected response code. SERVFAIL is retryable;
// the others (REFUSED, NOTAUTH, ...) are not expected to change by waiting.
func rcodeError(qtype, name, server string, rcode int) error {
	at := ""
	if server != "" {
		at = " at " + server
	}
	msg := fmt.Sprintf("query %s %s%s: %s", qtype, name, at, mdns.RcodeToString[rcode])
	if rcode == mdns.RcodeServerFailure {
		return Wrap(msg, ErrRetryable, nil)
	}
	return errors.New(msg)
}

// NetErrorText describes a network error without the parts that change
// from one attempt to the next (local ports, deadlines), so it can go into
// a condition message.
func NetErrorText(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

// parent returns the parent of a fully qualified name; the root's parent is
// the root.
func parent(name string) string {
	if name == "." {
		return "."
	}
	i, end := mdns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[i:]
}

func equalNames(a, b string) bool {
	return strings.EqualFold(mdns.Fqdn(a), mdns.Fqdn(b))
}
