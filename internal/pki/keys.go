package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
)

// KeyAlgorithm names a private key type a Certificate may ask for.
type KeyAlgorithm string

// The supported key algorithms.
const (
	ECDSA KeyAlgorithm = "ECDSA"
	RSA   KeyAlgorithm = "RSA"
)

// KeySpec is a key algorithm and size: ECDSA 256 or 384, RSA 2048, 3072 or
// 4096. A zero KeySpec means ECDSA P-256.
type KeySpec struct {
	Algorithm KeyAlgorithm
	Size      int
}

// Normalize fills in defaults and rejects unsupported combinations.
func (s KeySpec) Normalize() (KeySpec, error) {
	if s.Algorithm == "" {
		s.Algorithm = ECDSA
	}
	switch s.Algorithm {
	case ECDSA:
		if s.Size == 0 {
			s.Size = 256
		}
		if s.Size != 256 && s.Size != 384 {
			return s, fmt.Errorf("ECDSA key size %d is not supported: use 256 or 384", s.Size)
		}
	case RSA:
		if s.Size == 0 {
			s.Size = 2048
		}
		if s.Size != 2048 && s.Size != 3072 && s.Size != 4096 {
			return s, fmt.Errorf("RSA key size %d is not supported: use 2048, 3072 or 4096", s.Size)
		}
	default:
		return s, fmt.Errorf("key algorithm %q is not supported: use ECDSA or RSA", s.Algorithm)
	}
	return s, nil
}

// GenerateKey makes a new private key of the given spec.
func GenerateKey(spec KeySpec) (crypto.Signer, error) {
	spec, err := spec.Normalize()
	if err != nil {
		return nil, err
	}
	switch spec.Algorithm {
	case RSA:
		return rsa.GenerateKey(rand.Reader, spec.Size)
	default:
		curve := elliptic.P256()
		if spec.Size == 384 {
			curve = elliptic.P384()
		}
		return ecdsa.GenerateKey(curve, rand.Reader)
	}
}

// KeyMatchesSpec reports whether key is of the algorithm and size spec asks
// for, so a changed spec re-keys and an unchanged one may reuse the key.
func KeyMatchesSpec(key crypto.Signer, spec KeySpec) bool {
	spec, err := spec.Normalize()
	if err != nil {
		return false
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return spec.Algorithm == ECDSA && k.Curve.Params().BitSize == spec.Size
	case *rsa.PrivateKey:
		return spec.Algorithm == RSA && k.N.BitLen() == spec.Size
	}
	return false
}

// EncodeKey returns key as a PKCS#8 "PRIVATE KEY" PEM block.
func EncodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseKey reads the first private key PEM block: PKCS#8, PKCS#1 (RSA) or
// SEC 1 (EC).
func ParseKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no private key PEM block found")
		}
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse PKCS#8 private key: %w", err)
			}
			signer, ok := k.(crypto.Signer)
			if !ok {
				return nil, errors.New("private key cannot sign")
			}
			return signer, nil
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse RSA private key: %w", err)
			}
			return k, nil
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse EC private key: %w", err)
			}
			return k, nil
		}
	}
}

// CreateCSR makes a DER certificate request for dnsNames signed by key; the
// first name is also the common name when it fits in 64 bytes.
func CreateCSR(key crypto.Signer, dnsNames []string) ([]byte, error) {
	if len(dnsNames) == 0 {
		return nil, errors.New("a certificate request needs at least one DNS name")
	}
	tmpl := &x509.CertificateRequest{DNSNames: dnsNames}
	if len(dnsNames[0]) <= 64 {
		tmpl.Subject = pkix.Name{CommonName: dnsNames[0]}
	}
	return x509.CreateCertificateRequest(rand.Reader, tmpl, key)
}

// PublicKeyID identifies a public key: the hex SHA-256 of its PKIX DER,
// shortened. Used to tell whether a stored key is the one an order or an
// account was made with, without storing the key.
func PublicKeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:16]), nil
}
