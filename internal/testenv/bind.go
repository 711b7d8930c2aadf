package testenv

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// TSIGKey is a shared secret that signs DNS updates and zone transfers.
type TSIGKey struct {
	// Name is the key's fully qualified name, with its trailing dot.
	Name string
	// Algorithm is the fully qualified algorithm name, e.g. "hmac-sha256.".
	Algorithm string
	// Secret is the base64 encoded key.
	Secret string
}

// BINDOptions choose what the test name server serves.
type BINDOptions struct {
	// Zones served as primary, each with a wildcard A record to 127.0.0.1 and
	// dynamic updates and AXFR allowed for the TSIG key. Default: example.test.
	Zones []string
	// BareZones are served like Zones but hold only their SOA and NS
	// records (no wildcard), for tests that must see a name disappear.
	BareZones []string
}

// BIND is a running `named` serving test zones on a loopback port.
type BIND struct {
	// Addr is host:port for DNS queries and updates over UDP and TCP.
	Addr string
	// Zones are the zones served, fully qualified.
	Zones []string
	// Key is the only key allowed to update and transfer the zones.
	Key TSIGKey

	dir  string
	bare map[string]bool
	proc *process
}

// StartBIND writes a named.conf, zone files and a fresh TSIG key into a
// temporary directory and starts named from Debian's bind9 package on a free
// loopback port. Stop it with Stop.
func StartBIND(opts BINDOptions) (*BIND, error) {
	named, err := exec.LookPath("named")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/named"); statErr != nil {
			return nil, fmt.Errorf("named not found: install Debian's bind9 package (apt-get install -y bind9)")
		}
		named = "/usr/sbin/named"
	}
	zones := opts.Zones
	if len(zones) == 0 && len(opts.BareZones) == 0 {
		zones = []string{"example.test"}
	}
	for i, z := range zones {
		zones[i] = dns.Fqdn(z)
	}
	bare := map[string]bool{}
	for _, z := range opts.BareZones {
		bare[dns.Fqdn(z)] = true
		zones = append(zones, dns.Fqdn(z))
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "edgecert-bind-")
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	b := &BIND{
		Addr:  fmt.Sprintf("127.0.0.1:%d", port),
		Zones: zones,
		Key:   TSIGKey{Name: "edgecert-test.", Algorithm: dns.HmacSHA256, Secret: base64.StdEncoding.EncodeToString(secret)},
		dir:   dir,
		bare:  bare,
	}
	if err := b.writeConfig(port); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// -g: foreground, logs to stderr.
	b.proc, err = startProcess("named", dir, named, []string{"-g", "-c", filepath.Join(dir, "named.conf")}, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := b.proc.waitReady(20*time.Second, b.ready); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

func (b *BIND) writeConfig(port int) error {
	var conf strings.Builder
	fmt.Fprintf(&conf, `options {
	directory %q;
	pid-file %q;
	session-keyfile %q;
	managed-keys-directory %q;
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
	// Benchmarks send hundreds of updates and queries at once over TCP.
	tcp-clients 1000;
	tcp-listen-queue 256;
};
controls { };
key %q {
	algorithm %s;
	secret %q;
};
`, b.dir, filepath.Join(b.dir, "named.pid"), filepath.Join(b.dir, "session.key"), b.dir, port,
		b.Key.Name, strings.TrimSuffix(b.Key.Algorithm, "."), b.Key.Secret)
	for _, zone := range b.Zones {
		file := strings.TrimSuffix(zone, ".") + ".zone"
		fmt.Fprintf(&conf, `zone %q {
	type primary;
	file %q;
	allow-update { key %q; };
	allow-transfer { key %q; };
};
`, zone, file, b.Key.Name, b.Key.Name)
		zoneData := fmt.Sprintf(`$TTL 60
@	IN SOA ns.%[1]s hostmaster.%[1]s 1 3600 600 86400 60
@	IN NS ns.%[1]s
ns	IN A 127.0.0.1
`, zone)
		if !b.bare[zone] {
			zoneData += "@\tIN A 127.0.0.1\n*\tIN A 127.0.0.1\n"
		}
		if err := os.WriteFile(filepath.Join(b.dir, file), []byte(zoneData), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(b.dir, "named.conf"), []byte(conf.String()), 0o644)
}

// ready answers nil once every zone's SOA is served.
func (b *BIND) ready() error {
	for _, zone := range b.Zones {
		m := new(dns.Msg)
		m.SetQuestion(zone, dns.TypeSOA)
		c := &dns.Client{Timeout: 200 * time.Millisecond}
		r, _, err := c.Exchange(m, b.Addr)
		if err != nil {
			return err
		}
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			return fmt.Errorf("SOA %s: %s", zone, dns.RcodeToString[r.Rcode])
		}
	}
	return nil
}

// Pid is the process id of named.
func (b *BIND) Pid() int { return b.proc.Pid() }

// Stop ends named and removes its directory.
func (b *BIND) Stop() {
	if b.proc != nil {
		b.proc.stop()
	}
	os.RemoveAll(b.dir)
}

// TXT returns the TXT values at name as the test BIND serves them now, for
// tests that check what was published or cleaned up.
func (b *BIND) TXT(name string) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	r, err := dns.Exchange(m, b.Addr)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	return out, nil
}

// Records returns the values at name of type typ ("A", "AAAA", "CNAME",
// "TXT") as the test BIND serves them now, and their TTL: addresses and
// targets in presentation form, TXT strings joined. A query to BIND itself,
// for tests that check what was published.
func (b *BIND) Records(name, typ string) (uint32, []string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.StringToType[typ])
	m.RecursionDesired = false
	r, _, err := (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Exchange(m, b.Addr)
	if err != nil {
		return 0, nil, err
	}
	var ttl uint32
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype != dns.StringToType[typ] {
			continue
		}
		ttl = rr.Header().Ttl
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		case *dns.CNAME:
			out = append(out, v.Target)
		case *dns.TXT:
			out = append(out, strings.Join(v.Txt, ""))
		default:
			out = append(out, strings.TrimSpace(strings.TrimPrefix(rr.String(), rr.Header().String())))
		}
	}
	return ttl, out, nil
}

// UpdateRequests counts the signed UPDATE requests BIND has accepted since
// it started, from its own log (one `signer "<key>" approved` line each,
// no-op updates included): what a test counts to show that nothing was
// written, or how few messages a batch took.
func (b *BIND) UpdateRequests() (int, error) {
	data, err := os.ReadFile(filepath.Join(b.dir, "named.log"))
	if err != nil {
		return 0, err
	}
	return strings.Count(string(data), fmt.Sprintf("signer %q approved", strings.TrimSuffix(b.Key.Name, "."))), nil
}

// UpdatedRRs counts the RRs BIND added and deleted through updates since
// it started, from its log ("adding an RR", "deleting an RR", "deleting
// rrset"; an add of an RR already there is logged too), by the name they
// were at.
func (b *BIND) UpdatedRRs() (added, deleted map[string]int, err error) {
	data, err := os.ReadFile(filepath.Join(b.dir, "named.log"))
	if err != nil {
		return nil, nil, err
	}
	added, deleted = map[string]int{}, map[string]int{}
	for line := range strings.SplitSeq(string(data), "\n") {
		_, rest, ok := strings.Cut(line, "updating zone '")
		if !ok {
			continue
		}
		_, rest, _ = strings.Cut(rest, "': ")
		for _, verb := range []string{"adding an RR at ", "deleting an RR at ", "deleting rrset at "} {
			at, ok := strings.CutPrefix(rest, verb)
			if !ok {
				continue
			}
			// BIND quotes the name when adding ('x' A 1.2.3.4), not when
			// deleting (x A).
			name, _, _ := strings.Cut(strings.TrimPrefix(at, "'"), " ")
			name = strings.TrimSuffix(name, "'")
			if verb == "adding an RR at " {
				added[dns.Fqdn(name)]++
			} else {
				deleted[dns.Fqdn(name)]++
			}
		}
	}
	return added, deleted, nil
}

// Transfers counts the zone transfers (AXFR) BIND has served since it
// started, from its log: how often a zone was listed.
func (b *BIND) Transfers() (int, error) {
	data, err := os.ReadFile(filepath.Join(b.dir, "named.log"))
	if err != nil {
		return 0, err
	}
	return strings.Count(string(data), "AXFR started"), nil
}
