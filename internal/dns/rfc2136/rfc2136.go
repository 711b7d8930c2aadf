// Package rfc2136 publishes ACME DNS-01 TXT records with RFC 2136 dynamic
// updates signed with TSIG (RFC 8945), the protocol BIND, Knot, PowerDNS and
// Windows DNS accept. It is the provider for name servers a platform team
// runs itself.
package rfc2136

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	edgedns "github.com/edgecert/edgecert/internal/dns"
)

// Defaults for the optional Config fields.
const (
	DefaultTSIGAlgorithm = mdns.HmacSHA256
	DefaultTimeout       = 10 * time.Second
	DefaultNet           = "tcp"
	DefaultTTL           = 60
)

// tsigFudge is the clock skew the server accepts on the signature, in
// seconds (RFC 8945 recommends 300).
const tsigFudge = 300

// Config says where to send updates and how to sign them.
type Config struct {
	// Nameserver is the primary server that accepts updates, host:port.
	Nameserver string
	// TSIGKeyName is the name of the key the server allows to update the
	// zone, e.g. "acme-update." (a trailing dot is added when missing).
	TSIGKeyName string
	// TSIGAlgorithm is hmac-sha256 (default), hmac-sha1 or hmac-sha512,
	// spelled as BIND does, as the Issuer API does (HMACSHA256) or as a
	// TSIG algorithm name (hmac-sha256.).
	TSIGAlgorithm string
	// TSIGSecret is the key's secret, base64 encoded as in BIND's
	// `key { secret "..."; }`.
	TSIGSecret string
	// Timeout bounds one update exchange. Default 10s.
	Timeout time.Duration
	// Net is "tcp" (default) or "udp". TCP avoids truncation and is what
	// most servers expect for updates.
	Net string
	// TTL of the TXT records, in seconds. Default 60: short, so that a
	// retried challenge is not answered from caches with an old value.
	TTL uint32
}

// Provider changes zones on one name server with signed dynamic updates.
// An update that adds one RR leaves the RRset's other values alone and
// adding an RR that exists is a no-op (RFC 2136, section 3.4.2.2), and an
// update that deletes one RR deletes only that one, so Present and CleanUp
// need no read first and are safe for concurrent orders on the same name.
type Provider struct {
	cfg       Config
	keyName   string
	algorithm string
}

var _ edgedns.Provider = (*Provider)(nil)

// New checks cfg and fills its defaults. It sends nothing: a wrong key
// shows up on the first Present, as an error wrapping ErrNotAuthorized.
func New(cfg Config) (*Provider, error) {
	if cfg.Nameserver == "" {
		return nil, errors.New("rfc2136: nameserver is required")
	}
	if _, _, err := net.SplitHostPort(cfg.Nameserver); err != nil {
		cfg.Nameserver = net.JoinHostPort(strings.Trim(cfg.Nameserver, "[]"), "53")
	}
	if cfg.TSIGKeyName == "" {
		return nil, errors.New("rfc2136: TSIG key name is required")
	}
	if cfg.TSIGSecret == "" {
		return nil, errors.New("rfc2136: TSIG secret is required")
	}
	if _, err := base64.StdEncoding.DecodeString(cfg.TSIGSecret); err != nil {
		return nil, errors.New("rfc2136: TSIG secret is not valid base64")
	}
	alg, err := Algorithm(cfg.TSIGAlgorithm)
	if err != nil {
		return nil, err
	}
	switch cfg.Net {
	case "":
		cfg.Net = DefaultNet
	case "tcp", "udp":
	default:
		return nil, fmt.Errorf("rfc2136: net %q is neither tcp nor udp", cfg.Net)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	return &Provider{cfg: cfg, keyName: mdns.CanonicalName(cfg.TSIGKeyName), algorithm: alg}, nil
}

// Algorithm maps the spellings users write (hmac-sha256 as in BIND,
// HMACSHA256 as in the Issuer API and cert-manager, HMAC-SHA256., sha256)
// to the algorithm names of TSIG records. Empty means hmac-sha256.
func Algorithm(name string) (string, error) {
	n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	n = strings.TrimPrefix(strings.TrimPrefix(n, "hmac"), "-")
	switch n {
	case "":
		return DefaultTSIGAlgorithm, nil
	case "sha1":
		return mdns.HmacSHA1, nil
	case "sha224":
		return mdns.HmacSHA224, nil
	case "sha256":
		return mdns.HmacSHA256, nil
	case "sha384":
		return mdns.HmacSHA384, nil
	case "sha512":
		return mdns.HmacSHA512, nil
	}
	return "", fmt.Errorf("rfc2136: unsupported TSIG algorithm %q (use hmac-sha256, hmac-sha1 or hmac-sha512)", name)
}

// Present adds the TXT RR fqdn/value to zone. Adding an RR the server
// already has changes nothing, so this is idempotent.
func (p *Provider) Present(ctx context.Context, zone, fqdn, value string) error {
	zone, fqdn = edgedns.Fqdn(zone), edgedns.Fqdn(fqdn)
	m := new(mdns.Msg)
	m.SetUpdate(zone)
	m.Insert([]mdns.RR{p.txt(fqdn, value)})
	if err := p.send(ctx, m, zone); err != nil {
		return fmt.Errorf("present TXT %s: %w", fqdn, err)
	}
	return nil
}

// CleanUp deletes the TXT RR fqdn/value from zone, leaving other values at
// fqdn. Deleting an RR that is not there is no error in RFC 2136.
func (p *Provider) CleanUp(ctx context.Context, zone, fqdn, value string) error {
	zone, fqdn = edgedns.Fqdn(zone), edgedns.Fqdn(fqdn)
	m := new(mdns.Msg)
	m.SetUpdate(zone)
	m.Remove([]mdns.RR{p.txt(fqdn, value)})
	if err := p.send(ctx, m, zone); err != nil {
		return fmt.Errorf("clean up TXT %s: %w", fqdn, err)
	}
	return nil
}

func (p *Provider) txt(fqdn, value string) *mdns.TXT {
	return &mdns.TXT{
		Hdr: mdns.RR_Header{Name: fqdn, Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: p.cfg.TTL},
		Txt: splitTXT(value),
	}
}

// splitTXT cuts a value into the 255-byte character strings a TXT RR is
// made of; ACME values are 43 bytes, but nothing forbids longer ones.
func splitTXT(v string) []string {
	var parts []string
	for len(v) > 255 {
		parts = append(parts, v[:255])
		v = v[255:]
	}
	return append(parts, v)
}

// send signs and sends an update and turns the answer into an error with a
// stable message: REFUSED and NOTAUTH, and TSIG failures, wrap
// ErrNotAuthorized and name the key and zone; SERVFAIL and network errors
// wrap ErrRetryable.
func (p *Provider) send(ctx context.Context, m *mdns.Msg, zone string) error {
	m.SetTsig(p.keyName, p.algorithm, tsigFudge, time.Now().Unix())
	c := &mdns.Client{
		Net:        p.cfg.Net,
		Timeout:    p.cfg.Timeout,
		TsigSecret: map[string]string{p.keyName: p.cfg.TSIGSecret},
	}
	in, _, err := c.ExchangeContext(ctx, m, p.cfg.Nameserver)
	if in == nil {
		return edgedns.Wrap(fmt.Sprintf("update zone %s at %s: %s", zone, p.cfg.Nameserver, edgedns.NetErrorText(err)), edgedns.ErrRetryable, err)
	}
	tsigErr := ""
	if t := in.IsTsig(); t != nil && t.Error != mdns.RcodeSuccess {
		tsigErr = mdns.RcodeToString[int(t.Error)]
	}
	switch {
	case in.Rcode == mdns.RcodeRefused || in.Rcode == mdns.RcodeNotAuth || tsigErr != "":
		detail := mdns.RcodeToString[in.Rcode]
		if tsigErr != "" {
			detail += ", TSIG " + tsigErr
		}
		return edgedns.Wrap(fmt.Sprintf("update of zone %s at %s refused (%s): TSIG key %s may not update this zone, or its secret or algorithm is wrong, or the zone is not served there",
			zone, p.cfg.Nameserver, detail, p.keyName), edgedns.ErrNotAuthorized, err)
	case err != nil:
		// An answer whose signature does not verify: do not trust it.
		return edgedns.Wrap(fmt.Sprintf("update zone %s at %s: response signature of TSIG key %s does not verify: %v", zone, p.cfg.Nameserver, p.keyName, err), edgedns.ErrNotAuthorized, err)
	case in.Rcode == mdns.RcodeServerFailure:
		return edgedns.Wrap(fmt.Sprintf("update zone %s at %s: SERVFAIL", zone, p.cfg.Nameserver), edgedns.ErrRetryable, nil)
	case in.Rcode != mdns.RcodeSuccess:
		return fmt.Errorf("update zone %s at %s: %s", zone, p.cfg.Nameserver, mdns.RcodeToString[in.Rcode])
	}
	return nil
}
