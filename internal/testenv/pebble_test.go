package testenv_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	acmeclient "github.com/mholt/acmez/v3"
	acmez "github.com/mholt/acmez/v3/acme"

	"github.com/edgecert/edgecert/internal/dns/rfc2136"
)

// bareACME is an acmez client on the test Pebble with a new account,
// answering DNS-01 through the test BIND.
func bareACME(t *testing.T) (*acmeclient.Client, acmez.Account) {
	t.Helper()
	provider, err := rfc2136.New(rfc2136.Config{Nameserver: bed.BIND.Addr, TSIGKeyName: bed.BIND.Key.Name, TSIGAlgorithm: bed.BIND.Key.Algorithm, TSIGSecret: bed.BIND.Key.Secret})
	if err != nil {
		t.Fatal(err)
	}
	cl := &acmeclient.Client{
		Client:           &acmez.Client{Directory: bed.Pebble.DirectoryURL, HTTPClient: bed.Pebble.HTTPClient(), PollInterval: 20 * time.Millisecond},
		ChallengeSolvers: map[string]acmeclient.Solver{acmez.ChallengeTypeDNS01: dns01Solver{provider}},
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := cl.NewAccount(t.Context(), acmez.Account{PrivateKey: key, TermsOfServiceAgreed: true})
	if err != nil {
		t.Fatal(err)
	}
	return cl, acct
}

// dns01Solver publishes the TXT record in the test BIND, which Pebble
// queries directly, so there is nothing to wait for.
type dns01Solver struct{ p *rfc2136.Provider }

func (s dns01Solver) Present(ctx context.Context, ch acmez.Challenge) error {
	return s.p.Present(ctx, bed.BIND.Zones[0], ch.DNS01TXTRecordName()+".", ch.DNS01KeyAuthorization())
}

func (s dns01Solver) CleanUp(ctx context.Context, ch acmez.Challenge) error {
	return s.p.CleanUp(ctx, bed.BIND.Zones[0], ch.DNS01TXTRecordName()+".", ch.DNS01KeyAuthorization())
}

func TestPebbleCountsOrdersCreated(t *testing.T) {
	cl, acct := bareACME(t)
	before, err := bed.Pebble.OrdersCreated()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		host := fmt.Sprintf("orders-%d.%s", i, strings.TrimSuffix(bed.BIND.Zones[0], "."))
		if _, err := cl.NewOrder(t.Context(), acct, acmez.Order{Identifiers: []acmez.Identifier{{Type: "dns", Value: host}}}); err != nil {
			t.Fatal(err)
		}
	}
	after, err := bed.Pebble.OrdersCreated()
	if err != nil {
		t.Fatal(err)
	}
	if after != before+3 {
		t.Fatalf("OrdersCreated = %d after 3 new orders, was %d: want %d", after, before, before+3)
	}
}

func TestPebbleSetRenewalInfo(t *testing.T) {
	ctx := t.Context()
	cl, acct := bareACME(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := cl.ObtainCertificateForSANs(ctx, acct, key, []string{"ari." + strings.TrimSuffix(bed.BIND.Zones[0], ".")})
	if err != nil {
		t.Fatal(err)
	}
	chainPEM := certs[0].ChainPEM
	block, _ := pem.Decode(chainPEM)
	if block == nil {
		t.Fatalf("certificate chain is not PEM: %q", chainPEM)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := cl.GetDirectory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := acmez.ARIUniqueIdentifier(leaf)
	if err != nil {
		t.Fatal(err)
	}
	ariURL := dir.RenewalInfo + "/" + id

	want := `{"suggestedWindow":{"start":"2020-01-01T00:00:00Z","end":"2020-01-02T00:00:00Z"}}`
	if got := getBody(t, ariURL); got == want {
		t.Fatalf("renewalInfo is already %s before SetRenewalInfo", got)
	}
	if err := bed.Pebble.SetRenewalInfo(chainPEM, want); err != nil {
		t.Fatal(err)
	}
	if got := getBody(t, ariURL); got != want {
		t.Fatalf("renewalInfo after SetRenewalInfo = %s, want %s", got, want)
	}

	// A certificate Pebble did not issue is refused.
	if err := bed.Pebble.SetRenewalInfo(bed.Pebble.ServerCAPEM, want); err == nil {
		t.Fatal("SetRenewalInfo for a certificate Pebble did not issue: no error")
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := bed.Pebble.HTTPClient().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return string(body)
}
