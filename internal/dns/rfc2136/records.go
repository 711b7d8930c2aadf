package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/registry"
)

var _ edgedns.Zone = (*Provider)(nil)

// maxUpdateBytes bounds one UPDATE message: a DNS message over TCP may be
// 65,535 bytes, and the TSIG record comes on top.
const maxUpdateBytes = 32 * 1024

// maxUDPUpdateBytes bounds one UPDATE sent over UDP, below common path MTUs.
const maxUDPUpdateBytes = 1200

// Records lists zone with one TSIG-signed AXFR (the key must be allowed to
// transfer the zone, BIND's allow-transfer) and groups it into RRsets.
func (p *Provider) Records(ctx context.Context, zone string) ([]registry.Record, error) {
	zone = edgedns.Fqdn(zone)
	d := net.Dialer{Timeout: p.cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", p.cfg.Nameserver)
	if err != nil {
		return nil, edgedns.Wrap(fmt.Sprintf("transfer zone %s from %s: %s", zone, p.cfg.Nameserver, edgedns.NetErrorText(err)), edgedns.ErrRetryable, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	t := &mdns.Transfer{
		Conn:        &mdns.Conn{Conn: conn},
		ReadTimeout: p.cfg.Timeout, WriteTimeout: p.cfg.Timeout,
		TsigSecret: map[string]string{p.keyName: p.cfg.TSIGSecret},
	}
	m := new(mdns.Msg)
	m.SetAxfr(zone)
	m.SetTsig(p.keyName, p.algorithm, tsigFudge, time.Now().Unix())
	ch, err := t.In(m, p.cfg.Nameserver)
	if err != nil {
		conn.Close()
		return nil, p.transferError(zone, err)
	}
	sets := map[string]*registry.Record{}
	var order []string
	var xferErr error
	soa := 0
	for env := range ch {
		if env.Error != nil {
			xferErr = env.Error
			continue
		}
		for _, rr := range env.RR {
			h := rr.Header()
			typ := mdns.TypeToString[h.Rrtype]
			if h.Rrtype == mdns.TypeSOA {
				// An AXFR starts and ends with the SOA.
				soa++
				if soa > 1 {
					continue
				}
			}
			name := edgedns.Fqdn(h.Name)
			key := name + " " + typ
			set := sets[key]
			if set == nil {
				set = &registry.Record{Name: name, Type: typ, TTL: h.Ttl}
				sets[key] = set
				order = append(order, key)
			}
			set.Values = append(set.Values, rdata(rr))
		}
	}
	if xferErr != nil {
		return nil, p.transferError(zone, xferErr)
	}
	out := make([]registry.Record, 0, len(order))
	for _, k := range order {
		out = append(out, registry.Normalize(*sets[k]))
	}
	return out, nil
}

// rdata is an RR's value: the address, the target, the joined TXT
// strings, or the presentation form of other types' data.
func rdata(rr mdns.RR) string {
	switch v := rr.(type) {
	case *mdns.A:
		return v.A.String()
	case *mdns.AAAA:
		return v.AAAA.String()
	case *mdns.CNAME:
		return v.Target
	case *mdns.TXT:
		return strings.Join(v.Txt, "")
	}
	return strings.TrimSpace(strings.TrimPrefix(rr.String(), rr.Header().String()))
}

// transferError gives a failed AXFR a stable message: a refusal or a TSIG
// failure wraps ErrNotAuthorized, anything else ErrRetryable.
func (p *Provider) transferError(zone string, err error) error {
	var me *mdns.Error
	notAuth := errors.Is(err, mdns.ErrSig) || errors.Is(err, mdns.ErrAuth) || errors.Is(err, mdns.ErrSecret) || errors.Is(err, mdns.ErrKeyAlg) || errors.Is(err, mdns.ErrTime)
	if errors.As(err, &me) && (strings.Contains(me.Error(), fmt.Sprintf("rcode: %d", mdns.RcodeRefused)) || strings.Contains(me.Error(), fmt.Sprintf("rcode: %d", mdns.RcodeNotAuth))) {
		notAuth = true
	}
	if notAuth {
		return edgedns.Wrap(fmt.Sprintf("transfer of zone %s from %s refused (%v): TSIG key %s may not transfer this zone, or its secret or algorithm is wrong, or the zone is not served there",
			zone, p.cfg.Nameserver, err, p.keyName), edgedns.ErrNotAuthorized, err)
	}
	return edgedns.Wrap(fmt.Sprintf("transfer zone %s from %s: %s", zone, p.cfg.Nameserver, edgedns.NetErrorText(err)), edgedns.ErrRetryable, err)
}

// ApplyChanges sends changes as few signed UPDATE messages as fit in
// maxUpdateBytes each, in order. A Delete removes exactly the RRs of its
// Old record, an Update removes those and adds New's, so values added by
// someone else since the list stay; each message is applied by the server
// as a whole or not at all.
func (p *Provider) ApplyChanges(ctx context.Context, zone string, changes []registry.Change) error {
	zone = edgedns.Fqdn(zone)
	var batch []registry.Change
	msg := func(cs []registry.Change) *mdns.Msg {
		m := new(mdns.Msg)
		m.SetUpdate(zone)
		m.Compress = true
		for _, c := range cs {
			if c.Old != nil && (c.Action == registry.Delete || c.Action == registry.Update) {
				m.Remove(p.rrs(*c.Old))
			}
			if c.New != nil {
				m.Insert(p.rrs(*c.New))
			}
		}
		return m
	}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := p.send(ctx, msg(batch), zone); err != nil {
			return fmt.Errorf("apply %d record changes: %w", len(batch), err)
		}
		batch = batch[:0]
		return nil
	}
	limit := maxUpdateBytes
	if p.cfg.Net == "udp" {
		limit = maxUDPUpdateBytes
	}
	for _, c := range changes {
		batch = append(batch, c)
		if len(batch) > 1 && msg(batch).Len() > limit {
			batch = batch[:len(batch)-1]
			if err := flush(); err != nil {
				return err
			}
			batch = append(batch, c)
		}
	}
	return flush()
}

// rrs turns a record into RRs.
func (p *Provider) rrs(r registry.Record) []mdns.RR {
	h := func() mdns.RR_Header {
		return mdns.RR_Header{Name: edgedns.Fqdn(r.Name), Class: mdns.ClassINET, Ttl: r.TTL, Rrtype: mdns.StringToType[r.Type]}
	}
	out := make([]mdns.RR, 0, len(r.Values))
	for _, v := range slices.Clone(r.Values) {
		switch r.Type {
		case registry.TypeA:
			out = append(out, &mdns.A{Hdr: h(), A: net.ParseIP(v)})
		case registry.TypeAAAA:
			out = append(out, &mdns.AAAA{Hdr: h(), AAAA: net.ParseIP(v)})
		case registry.TypeCNAME:
			out = append(out, &mdns.CNAME{Hdr: h(), Target: edgedns.Fqdn(v)})
		case registry.TypeTXT:
			out = append(out, &mdns.TXT{Hdr: h(), Txt: splitTXT(v)})
		default:
			if rr, err := mdns.NewRR(fmt.Sprintf("%s %d IN %s %s", edgedns.Fqdn(r.Name), r.TTL, r.Type, v)); err == nil {
				out = append(out, rr)
			}
		}
	}
	return out
}
