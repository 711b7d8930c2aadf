package rfc2136_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	mdns "github.com/miekg/dns"

	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/dnstest"
	"github.com/edgecert/edgecert/internal/dns/rfc2136"
	"github.com/edgecert/edgecert/internal/testenv"
)

var bind *testenv.BIND

func TestMain(m *testing.M) {
	var err error
	bind, err = testenv.StartBIND(testenv.BINDOptions{Zones: []string{"example.test", "delegated.test"}, BareZones: []string{"records.test"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start BIND:", err)
		os.Exit(1)
	}
	code := m.Run()
	bind.Stop()
	os.Exit(code)
}

func newProvider(t *testing.T, mutate func(*rfc2136.Config)) *rfc2136.Provider {
	t.Helper()
	cfg := rfc2136.Config{
		Nameserver:    bind.Addr,
		TSIGKeyName:   bind.Key.Name,
		TSIGAlgorithm: bind.Key.Algorithm,
		TSIGSecret:    bind.Key.Secret,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := rfc2136.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// lookupTXT asks BIND directly for the TXT values at fqdn.
func lookupTXT(t *testing.T) func(string) []string {
	return func(fqdn string) []string {
		t.Helper()
		m := new(mdns.Msg)
		m.SetQuestion(fqdn, mdns.TypeTXT)
		m.RecursionDesired = false
		in, _, err := (&mdns.Client{Net: "tcp", Timeout: 5 * time.Second}).Exchange(m, bind.Addr)
		if err != nil {
			t.Fatalf("query TXT %s: %v", fqdn, err)
		}
		var values []string
		for _, rr := range in.Answer {
			if txt, ok := rr.(*mdns.TXT); ok {
				values = append(values, strings.Join(txt.Txt, ""))
			}
		}
		return values
	}
}

func TestConformance(t *testing.T) {
	dnstest.RunConformance(t, newProvider(t, nil), "example.test.", lookupTXT(t))
}

func TestConformanceUDPAndSHA512Spelling(t *testing.T) {
	// The test BIND's key is hmac-sha256; this checks the other spellings
	// of the same algorithm and the UDP transport.
	p := newProvider(t, func(c *rfc2136.Config) {
		c.Net = "udp"
		c.TSIGAlgorithm = "HMAC-SHA256"
		c.TSIGKeyName = strings.TrimSuffix(bind.Key.Name, ".")
	})
	dnstest.RunConformance(t, p, "delegated.test", lookupTXT(t))
}

func TestLongValueIsSplitAndJoined(t *testing.T) {
	p := newProvider(t, nil)
	fqdn := "_acme-challenge.long.example.test."
	value := strings.Repeat("a", 300)
	if err := p.Present(t.Context(), "example.test.", fqdn, value); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{value}, lookupTXT(t)(fqdn)); diff != "" {
		t.Errorf("TXT after Present (-want +got):\n%s", diff)
	}
	if err := p.CleanUp(t.Context(), "example.test.", fqdn, value); err != nil {
		t.Fatal(err)
	}
	if got := lookupTXT(t)(fqdn); len(got) != 0 {
		t.Errorf("TXT after CleanUp = %q, want none", got)
	}
}

func TestRefusedUpdate(t *testing.T) {
	wrongSecret := "c2VjcmV0LXRoYXQtYmluZC1kb2VzLW5vdC1rbm93LTAx"
	tests := map[string]struct {
		mutate   func(*rfc2136.Config)
		zone     string
		wantText []string
	}{
		"wrong secret": {
			mutate:   func(c *rfc2136.Config) { c.TSIGSecret = wrongSecret },
			zone:     "example.test.",
			wantText: []string{"zone example.test.", "TSIG key " + bind.Key.Name, "BADSIG"},
		},
		"unknown key name": {
			mutate:   func(c *rfc2136.Config) { c.TSIGKeyName = "someone-else."; c.TSIGSecret = wrongSecret },
			zone:     "example.test.",
			wantText: []string{"zone example.test.", "TSIG key someone-else.", "BADKEY"},
		},
		"wrong algorithm": {
			mutate:   func(c *rfc2136.Config) { c.TSIGAlgorithm = "hmac-sha512" },
			zone:     "delegated.test.",
			wantText: []string{"zone delegated.test.", "TSIG key " + bind.Key.Name},
		},
		"zone not served": {
			zone:     "elsewhere.test.",
			wantText: []string{"zone elsewhere.test.", "TSIG key " + bind.Key.Name, "refused"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := newProvider(t, tc.mutate)
			fqdn := "_acme-challenge.refused." + tc.zone
			err := p.Present(t.Context(), tc.zone, fqdn, "value")
			if err == nil {
				t.Fatal("Present succeeded, want a refusal")
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, edgedns.ErrNotAuthorized) {
				t.Errorf("Present error %q does not wrap ErrNotAuthorized", err)
			}
			if errors.Is(err, edgedns.ErrRetryable) {
				t.Errorf("Present error %q wraps ErrRetryable; a refusal needs a person", err)
			}
			for _, want := range tc.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Present error %q does not mention %q", err, want)
				}
			}
			again := p.CleanUp(t.Context(), tc.zone, fqdn, "value")
			if again == nil || !errors.Is(again, edgedns.ErrNotAuthorized) {
				t.Errorf("CleanUp error = %v, want ErrNotAuthorized", again)
			}
			// Stable: the same failure gives the same text, so a status
			// condition does not change on every retry.
			third := p.Present(t.Context(), tc.zone, fqdn, "value")
			if third == nil || third.Error() != err.Error() {
				t.Errorf("second Present error = %v, want the same text as %q", third, err)
			}
		})
	}
}

func TestUnreachableServerIsRetryable(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, func(c *rfc2136.Config) {
		c.Nameserver = fmt.Sprintf("127.0.0.1:%d", port)
		c.Timeout = time.Second
	})
	err = p.Present(context.Background(), "example.test.", "_acme-challenge.x.example.test.", "v")
	if !errors.Is(err, edgedns.ErrRetryable) {
		t.Fatalf("Present error = %v, want ErrRetryable", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Present error %q does not say the connection was refused", err)
	}
}

func TestAlgorithm(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    string
		wantErr bool
	}{
		"empty is sha256":     {in: "", want: mdns.HmacSHA256},
		"bind spelling":       {in: "hmac-sha256", want: mdns.HmacSHA256},
		"fqdn upper":          {in: "HMAC-SHA512.", want: mdns.HmacSHA512},
		"sha1 short":          {in: "sha1", want: mdns.HmacSHA1},
		"issuer API spelling": {in: "HMACSHA512", want: mdns.HmacSHA512},
		"miekg constant":      {in: mdns.HmacSHA1, want: mdns.HmacSHA1},
		"md5 is not accepted": {in: "hmac-md5", wantErr: true},
		"nonsense":            {in: "rot13", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := rfc2136.Algorithm(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Algorithm(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Algorithm(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	ok := rfc2136.Config{Nameserver: "127.0.0.1:53", TSIGKeyName: "k.", TSIGSecret: "c2VjcmV0"}
	tests := map[string]struct {
		mutate  func(*rfc2136.Config)
		wantErr string
	}{
		"valid":            {mutate: func(*rfc2136.Config) {}},
		"no nameserver":    {mutate: func(c *rfc2136.Config) { c.Nameserver = "" }, wantErr: "nameserver is required"},
		"no key name":      {mutate: func(c *rfc2136.Config) { c.TSIGKeyName = "" }, wantErr: "key name is required"},
		"no secret":        {mutate: func(c *rfc2136.Config) { c.TSIGSecret = "" }, wantErr: "secret is required"},
		"secret not b64":   {mutate: func(c *rfc2136.Config) { c.TSIGSecret = "not base64!" }, wantErr: "not valid base64"},
		"bad algorithm":    {mutate: func(c *rfc2136.Config) { c.TSIGAlgorithm = "hmac-md5" }, wantErr: "unsupported TSIG algorithm"},
		"bad net":          {mutate: func(c *rfc2136.Config) { c.Net = "quic" }, wantErr: "neither tcp nor udp"},
		"port defaults 53": {mutate: func(c *rfc2136.Config) { c.Nameserver = "ns.example.test" }},
		"ipv6 no port":     {mutate: func(c *rfc2136.Config) { c.Nameserver = "::1" }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			tc.mutate(&cfg)
			_, err := rfc2136.New(cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
