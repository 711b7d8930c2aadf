package dns_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	mdns "github.com/miekg/dns"

	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/rfc2136"
	"github.com/edgecert/edgecert/internal/testenv"
)

var bind *testenv.BIND

func TestMain(m *testing.M) {
	var err error
	bind, err = testenv.StartBIND(testenv.BINDOptions{Zones: []string{"example.test", "delegated.test"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start BIND:", err)
		os.Exit(1)
	}
	code := m.Run()
	bind.Stop()
	os.Exit(code)
}

// resolver asks the test BIND for everything; it is authoritative for both
// test zones and does no recursion.
func resolver() *edgedns.Resolver {
	return &edgedns.Resolver{
		Nameservers:              []string{bind.Addr},
		AuthoritativeNameservers: []string{bind.Addr},
	}
}

func bindPort(t *testing.T) int {
	t.Helper()
	_, port, _ := strings.Cut(bind.Addr, ":")
	var n int
	if _, err := fmt.Sscan(port, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func provider(t *testing.T) *rfc2136.Provider {
	t.Helper()
	p, err := rfc2136.New(rfc2136.Config{Nameserver: bind.Addr, TSIGKeyName: bind.Key.Name, TSIGAlgorithm: bind.Key.Algorithm, TSIGSecret: bind.Key.Secret})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// update sends a signed dynamic update to the test BIND.
func update(t *testing.T, zone string, insert, remove []mdns.RR) {
	t.Helper()
	m := new(mdns.Msg)
	m.SetUpdate(zone)
	if len(insert) > 0 {
		m.Insert(insert)
	}
	if len(remove) > 0 {
		m.Remove(remove)
	}
	m.SetTsig(bind.Key.Name, bind.Key.Algorithm, 300, time.Now().Unix())
	c := &mdns.Client{Net: "tcp", TsigSecret: map[string]string{bind.Key.Name: bind.Key.Secret}}
	in, _, err := c.Exchange(m, bind.Addr)
	if err != nil {
		t.Fatalf("update %s: %v", zone, err)
	}
	if in.Rcode != mdns.RcodeSuccess {
		t.Fatalf("update %s: %s", zone, mdns.RcodeToString[in.Rcode])
	}
}

func cname(t *testing.T, from, to string) mdns.RR {
	t.Helper()
	rr, err := mdns.NewRR(fmt.Sprintf("%s 60 IN CNAME %s", from, to))
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// addCNAME creates a CNAME for the duration of the test.
func addCNAME(t *testing.T, zone, from, to string) {
	t.Helper()
	rr := cname(t, from, to)
	update(t, zone, []mdns.RR{rr}, nil)
	t.Cleanup(func() { update(t, zone, nil, []mdns.RR{rr}) })
}

func TestChallengeFQDN(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":          {in: "example.com", want: "_acme-challenge.example.com."},
		"trailing dot":   {in: "example.com.", want: "_acme-challenge.example.com."},
		"wildcard":       {in: "*.example.com", want: "_acme-challenge.example.com."},
		"upper case":     {in: "WWW.Example.COM", want: "_acme-challenge.www.example.com."},
		"deep wildcard":  {in: "*.a.b.example.com.", want: "_acme-challenge.a.b.example.com."},
		"surrounding ws": {in: " example.com ", want: "_acme-challenge.example.com."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := edgedns.ChallengeFQDN(tc.in); got != tc.want {
				t.Errorf("ChallengeFQDN(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFqdn(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"adds dot":      {in: "Example.Test", want: "example.test."},
		"keeps dot":     {in: "example.test.", want: "example.test."},
		"root":          {in: ".", want: "."},
		"empty is root": {in: "", want: "."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := edgedns.Fqdn(tc.in); got != tc.want {
				t.Errorf("Fqdn(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFindZone(t *testing.T) {
	tests := map[string]struct {
		fqdn    string
		want    string
		wantErr string
	}{
		"apex":                        {fqdn: "example.test.", want: "example.test."},
		"challenge name (wildcard A)": {fqdn: "_acme-challenge.www.example.test.", want: "example.test."},
		"deep name in the other zone": {fqdn: "a.b.c.delegated.test.", want: "delegated.test."},
		"existing host":               {fqdn: "ns.example.test.", want: "example.test."},
		"without trailing dot":        {fqdn: "_acme-challenge.Example.Test", want: "example.test."},
		"outside the server's zones":  {fqdn: "_acme-challenge.nowhere.invalid.", wantErr: "find zone of _acme-challenge.nowhere.invalid.: query SOA"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := resolver().FindZone(t.Context(), tc.fqdn)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("FindZone(%q) = %q, %v; want error containing %q", tc.fqdn, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FindZone(%q): %v", tc.fqdn, err)
			}
			if got != tc.want {
				t.Errorf("FindZone(%q) = %q, want %q", tc.fqdn, got, tc.want)
			}
		})
	}
}

func TestFindZoneOfACNAMEIsTheOwnersZone(t *testing.T) {
	// BIND answers the SOA query at a CNAME with the CNAME and the SOA of
	// the target's zone; the owner's zone is still example.test.
	addCNAME(t, "example.test.", "_acme-challenge.owner.example.test.", "owner.delegated.test.")
	got, err := resolver().FindZone(t.Context(), "_acme-challenge.owner.example.test.")
	if err != nil {
		t.Fatal(err)
	}
	if got != "example.test." {
		t.Errorf("FindZone = %q, want example.test.", got)
	}
}

func TestFollowCNAME(t *testing.T) {
	addCNAME(t, "example.test.", "_acme-challenge.app.example.test.", "app.delegated.test.")
	addCNAME(t, "example.test.", "_acme-challenge.two.example.test.", "hop.delegated.test.")
	addCNAME(t, "delegated.test.", "hop.delegated.test.", "end.delegated.test.")
	addCNAME(t, "example.test.", "_acme-challenge.loop.example.test.", "loop-a.delegated.test.")
	addCNAME(t, "delegated.test.", "loop-a.delegated.test.", "loop-b.delegated.test.")
	addCNAME(t, "delegated.test.", "loop-b.delegated.test.", "loop-a.delegated.test.")

	tests := map[string]struct {
		fqdn    string
		want    string
		wantErr string
	}{
		"no CNAME":         {fqdn: "_acme-challenge.plain.example.test.", want: "_acme-challenge.plain.example.test."},
		"one hop":          {fqdn: "_acme-challenge.app.example.test.", want: "app.delegated.test."},
		"two hops":         {fqdn: "_acme-challenge.two.example.test.", want: "end.delegated.test."},
		"loop":             {fqdn: "_acme-challenge.loop.example.test.", wantErr: "follow CNAME from _acme-challenge.loop.example.test.: loop at loop-a.delegated.test."},
		"case insensitive": {fqdn: "_ACME-CHALLENGE.App.Example.Test.", want: "app.delegated.test."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := resolver().FollowCNAME(t.Context(), tc.fqdn)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("FollowCNAME(%q) = %q, %v; want error %q", tc.fqdn, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FollowCNAME(%q): %v", tc.fqdn, err)
			}
			if got != tc.want {
				t.Errorf("FollowCNAME(%q) = %q, want %q", tc.fqdn, got, tc.want)
			}
		})
	}
}

func TestChallengeThroughCNAMEDelegation(t *testing.T) {
	// _acme-challenge.app.example.test is delegated to a name in another
	// zone; the record is written there and the check follows it.
	addCNAME(t, "example.test.", "_acme-challenge.app.example.test.", "app.delegated.test.")
	r := resolver()
	ctx := t.Context()
	for _, domain := range []string{"app.example.test", "*.app.example.test"} {
		target, err := r.ChallengeTarget(ctx, domain)
		if err != nil {
			t.Fatalf("ChallengeTarget(%q): %v", domain, err)
		}
		if diff := cmp.Diff(edgedns.Target{FQDN: "app.delegated.test.", Zone: "delegated.test."}, target); diff != "" {
			t.Fatalf("ChallengeTarget(%q) (-want +got):\n%s", domain, diff)
		}
	}
	target, _ := r.ChallengeTarget(ctx, "app.example.test")
	p := provider(t)
	const value = "delegated-value"
	if ok, err := r.CheckPropagation(ctx, target.FQDN, value); err != nil || ok {
		t.Fatalf("CheckPropagation before Present = %v, %v; want false, nil", ok, err)
	}
	if err := p.Present(ctx, target.Zone, target.FQDN, value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.CleanUp(ctx, target.Zone, target.FQDN, value) })
	if ok, err := r.CheckPropagation(ctx, target.FQDN, value); err != nil || !ok {
		t.Fatalf("CheckPropagation after Present = %v, %v; want true, nil", ok, err)
	}

	// What the CA's resolver sees: the CNAME at the original name, and the
	// value at its target. (The test BIND does no recursion, so it does not
	// chase the CNAME into the other zone itself.)
	answers := func(name string) []string {
		m := new(mdns.Msg)
		m.SetQuestion(name, mdns.TypeTXT)
		in, _, err := (&mdns.Client{Net: "tcp"}).Exchange(m, bind.Addr)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, rr := range in.Answer {
			switch rr := rr.(type) {
			case *mdns.TXT:
				seen = append(seen, rr.Hdr.Name+" TXT "+strings.Join(rr.Txt, ""))
			case *mdns.CNAME:
				seen = append(seen, rr.Hdr.Name+" CNAME "+rr.Target)
			}
		}
		return seen
	}
	if diff := cmp.Diff([]string{"_acme-challenge.app.example.test. CNAME app.delegated.test."}, answers("_acme-challenge.app.example.test.")); diff != "" {
		t.Errorf("TXT query at the original name (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"app.delegated.test. TXT " + value}, answers("app.delegated.test.")); diff != "" {
		t.Errorf("TXT query at the target (-want +got):\n%s", diff)
	}
}

func TestCheckPropagation(t *testing.T) {
	port := bindPort(t)
	resolvers := map[string]*edgedns.Resolver{
		// Authoritative servers given explicitly.
		"override": resolver(),
		// Authoritative servers found from the zone's NS record
		// (ns.example.test. A 127.0.0.1) on the test BIND's port.
		"from NS records": {Nameservers: []string{bind.Addr}, AuthoritativePort: port},
	}
	for name, r := range resolvers {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			p := provider(t)
			fqdn := edgedns.ChallengeFQDN("prop-" + strings.ReplaceAll(name, " ", "-") + ".example.test")
			check := func(step, value string, want bool) {
				t.Helper()
				got, err := r.CheckPropagation(ctx, fqdn, value)
				if err != nil {
					t.Fatalf("%s: CheckPropagation: %v", step, err)
				}
				if got != want {
					t.Fatalf("%s: CheckPropagation(%s, %s) = %v, want %v", step, fqdn, value, got, want)
				}
			}
			check("before Present", "v1", false)
			if err := p.Present(ctx, "example.test.", fqdn, "v2"); err != nil {
				t.Fatal(err)
			}
			check("only another value present", "v1", false)
			if err := p.Present(ctx, "example.test.", fqdn, "v1"); err != nil {
				t.Fatal(err)
			}
			check("after Present", "v1", true)
			check("other value still there", "v2", true)
			if err := p.CleanUp(ctx, "example.test.", fqdn, "v1"); err != nil {
				t.Fatal(err)
			}
			check("after CleanUp", "v1", false)
			if err := p.CleanUp(ctx, "example.test.", fqdn, "v2"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAuthoritative(t *testing.T) {
	port := bindPort(t)
	tests := map[string]struct {
		r    *edgedns.Resolver
		zone string
		want []string
	}{
		"override":           {r: resolver(), zone: "example.test.", want: []string{bind.Addr}},
		"NS on default port": {r: &edgedns.Resolver{Nameservers: []string{bind.Addr}}, zone: "example.test.", want: []string{"127.0.0.1:53"}},
		"NS on given port":   {r: &edgedns.Resolver{Nameservers: []string{bind.Addr}, AuthoritativePort: port}, zone: "delegated.test", want: []string{bind.Addr}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.r.Authoritative(t.Context(), tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Authoritative(%q) (-want +got):\n%s", tc.zone, diff)
			}
		})
	}
}

func TestUnreachableResolverIsRetryable(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	r := &edgedns.Resolver{Nameservers: []string{addr}, AuthoritativeNameservers: []string{addr}, Timeout: 500 * time.Millisecond}
	_, err = r.FindZone(t.Context(), "_acme-challenge.example.test.")
	if !errors.Is(err, edgedns.ErrRetryable) {
		t.Fatalf("FindZone error = %v, want ErrRetryable", err)
	}
	// Nothing in the text changes from one attempt to the next.
	_, again := r.FindZone(t.Context(), "_acme-challenge.example.test.")
	if again == nil || again.Error() != err.Error() {
		t.Errorf("second FindZone error = %v, want the same text as %q", again, err)
	}
}

func TestWrap(t *testing.T) {
	cause := errors.New("request id 1234")
	err := edgedns.Wrap("stable text", edgedns.ErrRetryable, cause)
	if err.Error() != "stable text" {
		t.Errorf("Error() = %q, want the stable text", err.Error())
	}
	if !errors.Is(err, edgedns.ErrRetryable) || !errors.Is(err, cause) || errors.Is(err, edgedns.ErrNotAuthorized) {
		t.Errorf("errors.Is does not see exactly the sentinel and the cause in %v", err)
	}
	wrapped := fmt.Errorf("present TXT x.: %w", err)
	if !errors.Is(wrapped, edgedns.ErrRetryable) {
		t.Errorf("ErrRetryable lost through fmt.Errorf %%w")
	}
}
