package testenv

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	acmeclient "github.com/mholt/acmez/v3"
	acmez "github.com/mholt/acmez/v3/acme"

	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/rfc2136"
)

// BareACME is an ACME client with nothing of edgecert's issuance in it
// (acmez, polling every 20 ms), on the bed's Pebble, solving DNS-01
// through the bed's BIND: the floor benchmarks compare edgecert with, and
// the "other tool" that issued the certificates a migration test finds.
type BareACME struct {
	client  acmeclient.Client
	account acmez.Account
}

// AccountKey is the account's private key.
func (c *BareACME) AccountKey() crypto.Signer { return c.account.PrivateKey }

// AccountURL is the account's URL at Pebble.
func (c *BareACME) AccountURL() string { return c.account.Location }

// NewBareACME registers a fresh account at the bed's Pebble.
func (b *Bed) NewBareACME(ctx context.Context) (*BareACME, error) {
	provider, err := rfc2136.New(rfc2136.Config{Nameserver: b.BIND.Addr, TSIGKeyName: b.BIND.Key.Name, TSIGAlgorithm: b.BIND.Key.Algorithm, TSIGSecret: b.BIND.Key.Secret})
	if err != nil {
		return nil, err
	}
	resolver := &edgedns.Resolver{Nameservers: []string{b.BIND.Addr}, AuthoritativeNameservers: []string{b.BIND.Addr}}
	c := &BareACME{client: acmeclient.Client{
		Client: &acmez.Client{Directory: b.Pebble.DirectoryURL, HTTPClient: b.Pebble.HTTPClient(), PollInterval: 20 * time.Millisecond},
		ChallengeSolvers: map[string]acmeclient.Solver{
			acmez.ChallengeTypeDNS01: &bareSolver{provider: provider, resolver: resolver, zone: b.BIND.Zones[0]},
		},
	}}
	// Not pki.GenerateKey: pki's own tests use the test bed.
	accountKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if c.account, err = c.client.NewAccount(ctx, acmez.Account{PrivateKey: accountKey, TermsOfServiceAgreed: true}); err != nil {
		return nil, fmt.Errorf("register a bare ACME account: %w", err)
	}
	return c, nil
}

// Obtain issues a certificate for hosts with key and returns its chain
// (PEM, leaf first).
func (c *BareACME) Obtain(ctx context.Context, key crypto.Signer, hosts []string) ([]byte, error) {
	certs, err := c.client.ObtainCertificateForSANs(ctx, c.account, key, hosts)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no certificate for %v", hosts)
	}
	return certs[0].ChainPEM, nil
}

// bareSolver publishes TXT records in BIND and waits for them the way a
// bare client does: polling the authoritative server.
type bareSolver struct {
	provider *rfc2136.Provider
	resolver *edgedns.Resolver
	zone     string
}

func (s *bareSolver) Present(ctx context.Context, ch acmez.Challenge) error {
	return s.provider.Present(ctx, s.zone, ch.DNS01TXTRecordName()+".", ch.DNS01KeyAuthorization())
}

func (s *bareSolver) Wait(ctx context.Context, ch acmez.Challenge) error {
	for {
		ok, err := s.resolver.CheckPropagation(ctx, ch.DNS01TXTRecordName()+".", ch.DNS01KeyAuthorization())
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *bareSolver) CleanUp(ctx context.Context, ch acmez.Challenge) error {
	return s.provider.CleanUp(ctx, s.zone, ch.DNS01TXTRecordName()+".", ch.DNS01KeyAuthorization())
}
