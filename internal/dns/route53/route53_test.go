package route53_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/dnstest"
	"github.com/edgecert/edgecert/internal/dns/route53"
	"github.com/edgecert/edgecert/internal/dns/route53/route53test"
)

var (
	server *route53test.Server
	zoneID string
)

func TestMain(m *testing.M) {
	server = route53test.NewServer()
	// Zones whose names sort around example.test, so the lookup by name
	// must pick the exact one.
	server.AddZone("a.example.test")
	zoneID = server.AddZone("example.test")
	server.AddZone("sub.example.test")
	server.AddZone("other.test")
	server.AddPrivateZone("private.test")
	server.AddZone("private.test")
	server.AddZone("twice.test")
	server.AddZone("twice.test")
	code := m.Run()
	server.Close()
	os.Exit(code)
}

func newProvider(t *testing.T, mutate func(*route53.Config)) *route53.Provider {
	t.Helper()
	cfg := route53.Config{
		AccessKeyID:     "AKIDEDGECERTTEST",
		SecretAccessKey: "secret",
		BaseEndpoint:    server.URL,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := route53.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func TestConformance(t *testing.T) {
	dnstest.RunConformance(t, newProvider(t, nil), "example.test.", server.TXT)
}

func TestConformanceWithHostedZoneID(t *testing.T) {
	id := server.AddZone("pinned.test")
	dnstest.RunConformance(t, newProvider(t, func(c *route53.Config) { c.HostedZoneID = "/hostedzone/" + id }), "pinned.test.", server.TXT)
}

func TestPresentStoresQuotedValuesWithTTL(t *testing.T) {
	p := newProvider(t, func(c *route53.Config) { c.TTL = 120 })
	fqdn := "_acme-challenge.quoted.example.test."
	if err := p.Present(t.Context(), "example.test.", fqdn, "abc"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.CleanUp(context.Background(), "example.test.", fqdn, "abc") })
	ttl, values, ok := server.RecordSet(zoneID, fqdn, "TXT")
	if !ok {
		t.Fatal("no TXT RRset after Present")
	}
	if diff := cmp.Diff([]string{`"abc"`}, values); diff != "" {
		t.Errorf("stored values (-want +got):\n%s", diff)
	}
	if ttl != 120 {
		t.Errorf("TTL = %d, want 120", ttl)
	}
}

func TestNoOpWritesNothing(t *testing.T) {
	p := newProvider(t, nil)
	fqdn := "_acme-challenge.noop.example.test."
	if err := p.Present(t.Context(), "example.test", fqdn, "v1"); err != nil {
		t.Fatal(err)
	}
	before := server.Calls("ChangeResourceRecordSets")
	if err := p.Present(t.Context(), "example.test", fqdn, "v1"); err != nil {
		t.Fatal(err)
	}
	if err := p.CleanUp(t.Context(), "example.test", fqdn, "absent"); err != nil {
		t.Fatal(err)
	}
	if got := server.Calls("ChangeResourceRecordSets") - before; got != 0 {
		t.Errorf("%d change requests for a Present of a present value and a CleanUp of an absent one, want 0", got)
	}
	if err := p.CleanUp(t.Context(), "example.test", fqdn, "v1"); err != nil {
		t.Fatal(err)
	}
}

func TestHostedZoneLookup(t *testing.T) {
	tests := map[string]struct {
		zone    string
		wantErr string
	}{
		"exact name among neighbours":  {zone: "sub.example.test."},
		"public one of private+public": {zone: "private.test."},
		"no such zone":                 {zone: "missing.test.", wantErr: "find hosted zone missing.test.: no public hosted zone has this name"},
		"ambiguous":                    {zone: "twice.test.", wantErr: "2 public hosted zones have this name; set the hosted zone ID"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := newProvider(t, nil)
			fqdn := "_acme-challenge.lookup." + tc.zone
			err := p.Present(t.Context(), tc.zone, fqdn, "v")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Present error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"v"}, server.TXT(fqdn)); diff != "" {
				t.Errorf("TXT (-want +got):\n%s", diff)
			}
			if err := p.CleanUp(t.Context(), tc.zone, fqdn, "v"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRetryableErrors(t *testing.T) {
	for _, code := range []string{"Throttling", "PriorRequestNotComplete"} {
		for _, op := range []string{"ListResourceRecordSets", "ChangeResourceRecordSets"} {
			t.Run(code+"/"+op, func(t *testing.T) {
				p := newProvider(t, nil)
				fqdn := "_acme-challenge.retry.example.test."
				server.FailNext(op, code)
				err := p.Present(t.Context(), "example.test.", fqdn, "v")
				if !errors.Is(err, edgedns.ErrRetryable) {
					t.Fatalf("Present error = %v, want ErrRetryable", err)
				}
				if !strings.Contains(err.Error(), code) {
					t.Errorf("Present error %q does not name the code %s", err, code)
				}
				if strings.Contains(err.Error(), "00000000-0000-4000") || strings.Contains(strings.ToLower(err.Error()), "requestid") {
					t.Errorf("Present error %q carries a request ID", err)
				}
				if got := server.TXT(fqdn); len(got) != 0 {
					t.Errorf("TXT after a failed Present = %q, want none", got)
				}
				// The caller backs off and calls again; this time it works.
				if err := p.Present(t.Context(), "example.test.", fqdn, "v"); err != nil {
					t.Fatalf("Present after the failure: %v", err)
				}
				if err := p.CleanUp(t.Context(), "example.test.", fqdn, "v"); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestStableErrorText(t *testing.T) {
	p := newProvider(t, nil)
	var texts []string
	for range 2 {
		server.FailNext("ChangeResourceRecordSets", "Throttling")
		err := p.Present(t.Context(), "example.test.", "_acme-challenge.stable.example.test.", "v")
		if err == nil {
			t.Fatal("Present succeeded, want the injected failure")
		}
		texts = append(texts, err.Error())
	}
	want := "present TXT _acme-challenge.stable.example.test.: UPSERT in hosted zone " + zoneID + ": ChangeResourceRecordSets: Throttling: Rate exceeded"
	if diff := cmp.Diff([]string{want, want}, texts); diff != "" {
		t.Errorf("error texts (-want +got):\n%s", diff)
	}
}

func TestAccessDeniedIsNotAuthorized(t *testing.T) {
	p := newProvider(t, nil)
	server.FailNext("ListResourceRecordSets", "AccessDenied")
	err := p.Present(t.Context(), "example.test.", "_acme-challenge.denied.example.test.", "v")
	if !errors.Is(err, edgedns.ErrNotAuthorized) || errors.Is(err, edgedns.ErrRetryable) {
		t.Fatalf("Present error = %v, want ErrNotAuthorized and not ErrRetryable", err)
	}
}

func TestUnreachableEndpointIsRetryable(t *testing.T) {
	dead := route53test.NewServer()
	url := dead.URL
	dead.Close()
	p := newProvider(t, func(c *route53.Config) { c.BaseEndpoint = url })
	err := p.Present(t.Context(), "example.test.", "_acme-challenge.x.example.test.", "v")
	if !errors.Is(err, edgedns.ErrRetryable) {
		t.Fatalf("Present error = %v, want ErrRetryable", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Present error %q does not say the connection was refused", err)
	}
}

func TestChangeInsync(t *testing.T) {
	p := newProvider(t, nil)
	fqdn := "_acme-challenge.insync.example.test."
	id, err := p.PresentChange(t.Context(), "example.test.", fqdn, "v")
	if err != nil {
		t.Fatal(err)
	}
	if id == "" {
		t.Fatal("PresentChange returned no change ID for a new value")
	}
	insync, err := p.ChangeInsync(t.Context(), id)
	if err != nil || insync {
		t.Fatalf("ChangeInsync before sync = %v, %v; want false, nil", insync, err)
	}
	server.SyncChanges()
	insync, err = p.ChangeInsync(t.Context(), id)
	if err != nil || !insync {
		t.Fatalf("ChangeInsync after sync = %v, %v; want true, nil", insync, err)
	}
	again, err := p.PresentChange(t.Context(), "example.test.", fqdn, "v")
	if err != nil || again != "" {
		t.Errorf("PresentChange of a present value = %q, %v; want no change", again, err)
	}
	if _, err := p.ChangeInsync(t.Context(), "/change/CNOSUCH"); err == nil || !strings.Contains(err.Error(), "NoSuchChange") {
		t.Errorf("ChangeInsync of an unknown change: error = %v, want NoSuchChange", err)
	}
	if err := p.CleanUp(t.Context(), "example.test.", fqdn, "v"); err != nil {
		t.Fatal(err)
	}
}

func TestNewRejectsHalfStaticCredentials(t *testing.T) {
	_, err := route53.New(t.Context(), route53.Config{AccessKeyID: "AKID"})
	if err == nil || !strings.Contains(err.Error(), "go together") {
		t.Fatalf("New error = %v, want the credential pair error", err)
	}
}

func TestQuoteTXT(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := map[string]struct {
		value, quoted string
	}{
		"acme digest": {value: "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", quoted: `"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"`},
		"empty":       {value: "", quoted: `""`},
		"quote":       {value: `a"b`, quoted: `"a\"b"`},
		"backslash":   {value: `a\b`, quoted: `"a\\b"`},
		"space":       {value: "a b", quoted: `"a b"`},
		"control":     {value: "a\nb", quoted: `"a\010b"`},
		"long":        {value: long, quoted: `"` + long[:255] + `" "` + long[255:] + `"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := route53.QuoteTXT(tc.value); got != tc.quoted {
				t.Errorf("QuoteTXT(%q) = %q, want %q", tc.value, got, tc.quoted)
			}
			got, err := route53.UnquoteTXT(tc.quoted)
			if err != nil {
				t.Fatalf("UnquoteTXT(%q): %v", tc.quoted, err)
			}
			if got != tc.value {
				t.Errorf("UnquoteTXT(%q) = %q, want %q", tc.quoted, got, tc.value)
			}
		})
	}
}

func TestUnquoteTXT(t *testing.T) {
	tests := map[string]struct {
		in, want string
		wantErr  bool
	}{
		"unquoted is kept":  {in: "plain", want: "plain"},
		"two strings":       {in: `"ab" "cd"`, want: "abcd"},
		"octal escape":      {in: `"\065\066"`, want: "AB"},
		"unterminated":      {in: `"abc`, wantErr: true},
		"text after quotes": {in: `"abc"def`, wantErr: true},
		"octal too large":   {in: `"\999"`, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := route53.UnquoteTXT(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("UnquoteTXT(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("UnquoteTXT(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func ExampleProvider() {
	ctx := context.Background()
	// In a controller, the config comes from the Issuer's dns01.route53
	// solver and the zone and name from Resolver.ChallengeTarget.
	p, err := route53.New(ctx, route53.Config{HostedZoneID: "Z0123456789ABC", Region: "us-east-1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = p.Present // Present(ctx, target.Zone, target.FQDN, keyAuthDigest)
	fmt.Println("ok")
	// Output: ok
}

// Writes to one name from several Providers (a solver's provider is rebuilt
// when its credentials are read again) keep every value: the lock is the
// process's, keyed by zone and name, not the Provider's.
func TestConcurrentPresentsFromSeveralProvidersKeepEveryValue(t *testing.T) {
	fqdn := "_acme-challenge.many.example.test."
	var wg sync.WaitGroup
	var want []string
	for i := range 8 {
		p := newProvider(t, nil)
		v := fmt.Sprintf("value-%d", i)
		want = append(want, `"`+v+`"`)
		wg.Go(func() {
			if err := p.Present(t.Context(), "example.test.", fqdn, v); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	_, got, ok := server.RecordSet(zoneID, fqdn, "TXT")
	if !ok {
		t.Fatal("no TXT RRset")
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}
