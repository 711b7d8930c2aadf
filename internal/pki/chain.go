package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// KeyPair is a parsed, checked TLS certificate and its key: what a
// `kubernetes.io/tls` Secret must hold for anyone to serve it.
type KeyPair struct {
	// Leaf is the first certificate of the chain.
	Leaf *x509.Certificate
	// Intermediates follow the leaf, in order.
	Intermediates []*x509.Certificate
	// Key is the private key, whose public half matches Leaf.
	Key crypto.Signer
}

// ParseCertificates reads every CERTIFICATE block of a PEM chain, leaf first.
// Other block types are an error: a chain with a key in it is a mistake.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := bytes.TrimSpace(data)
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("certificate data is not PEM")
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q in certificate chain", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
		rest = bytes.TrimSpace(rest)
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate found")
	}
	return certs, nil
}

// ParseKeyPair parses a PEM chain and key and checks that the key belongs
// to the leaf. This is the check that keeps a half-written or mismatched
// Secret from ever reaching a gateway.
func ParseKeyPair(certPEM, keyPEM []byte) (*KeyPair, error) {
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		return nil, err
	}
	key, err := ParseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(certs[0].PublicKey, key.Public()) {
		return nil, errors.New("private key does not match the certificate")
	}
	return &KeyPair{Leaf: certs[0], Intermediates: certs[1:], Key: key}, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	ea, ok := a.(equaler)
	return ok && ea.Equal(b)
}

// Hosts returns the leaf's DNS names, sorted and lower-cased.
func Hosts(leaf *x509.Certificate) []string {
	hosts := make([]string, 0, len(leaf.DNSNames))
	for _, h := range leaf.DNSNames {
		hosts = append(hosts, strings.ToLower(h))
	}
	slices.Sort(hosts)
	return slices.Compact(hosts)
}

// Covers reports whether the leaf is valid for host under the usual rule: an
// exact name, or a wildcard matching exactly one left-most label.
func Covers(leaf *x509.Certificate, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, name := range leaf.DNSNames {
		name = strings.ToLower(name)
		if name == host {
			return true
		}
		if suffix, ok := strings.CutPrefix(name, "*."); ok {
			if first, rest, found := strings.Cut(host, "."); found && first != "" && first != "*" && rest == suffix {
				return true
			}
		}
	}
	return false
}

// Uncovered lists the hosts the leaf is not valid for.
func Uncovered(leaf *x509.Certificate, hosts []string) []string {
	var missing []string
	for _, h := range hosts {
		if !Covers(leaf, h) {
			missing = append(missing, h)
		}
	}
	return missing
}

// ValidAt reports whether now is inside the leaf's validity period.
func ValidAt(leaf *x509.Certificate, now time.Time) bool {
	return !now.Before(leaf.NotBefore) && now.Before(leaf.NotAfter)
}
