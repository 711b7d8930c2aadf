package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgecert/edgecert/internal/pki"
)

// CertInfo is one certificate of a chain.
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	Hosts     []string  `json:"hosts,omitempty"`
	KeyType   string    `json:"keyType"`
	CA        bool      `json:"ca"`
	// SHA256 is the fingerprint of the DER certificate.
	SHA256 string `json:"sha256"`
}

func certInfo(c *x509.Certificate) CertInfo {
	sum := sha256.Sum256(c.Raw)
	return CertInfo{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: c.SerialNumber.Text(16),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), Hosts: pki.Hosts(c),
		KeyType: keyType(c.PublicKey), CA: c.IsCA, SHA256: hex.EncodeToString(sum[:]),
	}
}

// keyType names a public key as a person would: "ECDSA P-256", "RSA 2048".
func keyType(pub any) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

// Verdict is a yes/no check with why not.
type Verdict struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// SecretReport is what `edgecert inspect secret` shows.
type SecretReport struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	// Certificate is the edgecert Certificate the Secret belongs to, from
	// its edgecert.dev/certificate-name label.
	Certificate string     `json:"certificate,omitempty"`
	Chain       []CertInfo `json:"chain"`
	Hosts       []string   `json:"hosts"`
	KeyType     string     `json:"keyType,omitempty"`
	Expiry      time.Time  `json:"expiry"`
	Issuer      string     `json:"issuer"`
	// KeyMatches says whether tls.key is the leaf's private key.
	KeyMatches Verdict `json:"keyMatches"`
	// ChainsToRoot is set when a root was given: whether the chain leads
	// from the leaf to it.
	ChainsToRoot *Verdict `json:"chainsToRoot,omitempty"`
	// Problems lists what makes the Secret unusable by a gateway.
	Problems []string `json:"problems,omitempty"`
}

// InspectSecret reads a TLS Secret and reports its chain, hosts, key type,
// expiry and issuer, whether its key matches its leaf, and, when rootPEM
// is given, whether the chain leads to that root.
func InspectSecret(ctx context.Context, c client.Client, namespace, name string, rootPEM []byte, now time.Time) (*SecretReport, error) {
	var s corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("secret %q not found in namespace %q", name, namespace)
		}
		return nil, fmt.Errorf("get secret %s/%s: %w", namespace, name, err)
	}
	r := &SecretReport{Namespace: namespace, Name: name, Type: string(s.Type), Certificate: s.Labels["edgecert.dev/certificate-name"], Chain: []CertInfo{}, Hosts: []string{}}
	certs, err := pki.ParseCertificates(s.Data[corev1.TLSCertKey])
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %s does not hold a certificate chain: %w", namespace, name, corev1.TLSCertKey, err)
	}
	for _, c := range certs {
		r.Chain = append(r.Chain, certInfo(c))
	}
	leaf := certs[0]
	r.Hosts, r.Expiry, r.Issuer = pki.Hosts(leaf), leaf.NotAfter.UTC(), leaf.Issuer.String()
	if key, err := pki.ParseKey(s.Data[corev1.TLSPrivateKeyKey]); err != nil {
		r.KeyMatches = Verdict{Detail: fmt.Sprintf("%s does not hold a private key: %v", corev1.TLSPrivateKeyKey, err)}
	} else {
		r.KeyType = keyType(key.Public())
		if _, err := pki.ParseKeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]); err != nil {
			r.KeyMatches = Verdict{Detail: err.Error()}
		} else {
			r.KeyMatches = Verdict{OK: true}
		}
	}
	if !r.KeyMatches.OK {
		r.Problems = append(r.Problems, "key: "+r.KeyMatches.Detail)
	}
	if s.Type != corev1.SecretTypeTLS {
		r.Problems = append(r.Problems, fmt.Sprintf("type is %s, not %s", s.Type, corev1.SecretTypeTLS))
	}
	if !pki.ValidAt(leaf, now) {
		r.Problems = append(r.Problems, fmt.Sprintf("not valid now (valid %s to %s)", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339)))
	}
	if rootPEM != nil {
		v, err := chainsTo(certs, rootPEM, now)
		if err != nil {
			return nil, err
		}
		r.ChainsToRoot = &v
		if !v.OK {
			r.Problems = append(r.Problems, "chain: "+v.Detail)
		}
	}
	return r, nil
}

// chainsTo checks that certs (leaf first, then intermediates) lead to one
// of the roots in rootPEM at now.
func chainsTo(certs []*x509.Certificate, rootPEM []byte, now time.Time) (Verdict, error) {
	roots, err := pki.ParseCertificates(rootPEM)
	if err != nil {
		return Verdict{}, fmt.Errorf("--root: %w", err)
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, verifyErr := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	v := verdictOf(verifyErr)
	if v.OK {
		path := make([]string, 0, len(chains[0]))
		for _, c := range chains[0] {
			path = append(path, c.Subject.CommonName)
		}
		v.Detail = strings.Join(path, " <- ")
	}
	return v, nil
}

// verdictOf is yes for no error, else no with the error's words.
func verdictOf(err error) Verdict {
	if err != nil {
		return Verdict{Detail: err.Error()}
	}
	return Verdict{OK: true}
}

// yesNo is a verdict for a table.
func (p *Printer) yesNo(v Verdict) string {
	word := "no"
	if v.OK {
		word = "yes"
	}
	if p.Color {
		if v.OK {
			word = green + word + reset
		} else {
			word = red + word + reset
		}
	}
	if v.Detail != "" {
		return word + " (" + v.Detail + ")"
	}
	return word
}

// printChain writes a chain into b, leaf first.
func printChain(b *strings.Builder, chain []CertInfo) {
	rows := make([][]string, 0, len(chain))
	for i, c := range chain {
		rows = append(rows, []string{fmt.Sprint(i), c.Subject, c.Issuer, c.KeyType, c.NotAfter.Format(time.RFC3339), c.Serial})
	}
	table(b, []string{"#", "SUBJECT", "ISSUER", "KEY", "NOT AFTER", "SERIAL"}, rows)
}

// PrintSecret prints the report as key: value lines and the chain.
func (p *Printer) PrintSecret(r *SecretReport) error {
	if done, err := p.structured(r); done {
		return err
	}
	lines := [][]string{
		{"Secret:", r.Namespace + "/" + r.Name + " (" + r.Type + ")"},
		{"Certificate:", or(r.Certificate)},
		{"Hosts:", strings.Join(r.Hosts, ", ")},
		{"Key type:", or(r.KeyType)},
		{"Expires:", p.when(&r.Expiry)},
		{"Issuer:", r.Issuer},
		{"Key matches:", p.yesNo(r.KeyMatches)},
	}
	if r.ChainsToRoot != nil {
		lines = append(lines, []string{"Chains to root:", p.yesNo(*r.ChainsToRoot)})
	}
	var b strings.Builder
	keyValues(&b, lines)
	b.WriteString("\n")
	printChain(&b, r.Chain)
	for _, pr := range r.Problems {
		b.WriteString("problem: " + pr + "\n")
	}
	return p.emit(&b)
}
