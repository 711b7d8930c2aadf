package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/pki"
)

// CheckRequest is a live TLS endpoint to check.
type CheckRequest struct {
	// Target is host or host:port (port 443 by default); host is the
	// name sent in SNI and checked against the certificate.
	Target string
	// Address, when set, is where to connect instead of resolving host
	// (an ingress gateway's address before DNS points at it).
	Address string
	// RootPEM verifies the chain against these roots instead of the
	// system's.
	RootPEM []byte
	// Timeout bounds the connection and handshake.
	Timeout time.Duration
}

// CheckReport is what `edgecert check` shows.
type CheckReport struct {
	Host       string     `json:"host"`
	Address    string     `json:"address"`
	TLSVersion string     `json:"tlsVersion"`
	Chain      []CertInfo `json:"chain"`
	Hosts      []string   `json:"hosts"`
	Expiry     time.Time  `json:"expiry"`
	// CoversHost says whether the leaf is valid for Host.
	CoversHost Verdict `json:"coversHost"`
	// Trusted says whether the chain verifies for Host against the roots
	// (the system's, or the ones given).
	Trusted Verdict `json:"trusted"`
	// Certificate is the edgecert Certificate ("namespace/name") for Host
	// when one was found; MatchesSecret whether the endpoint serves the
	// leaf in its Secret.
	Certificate   string   `json:"certificate,omitempty"`
	MatchesSecret *Verdict `json:"matchesSecret,omitempty"`
}

// Check connects to the endpoint with SNI, reads the chain it serves and
// checks it; with a client, it then looks for the Certificate edgecert
// holds for the host (in namespace, or every namespace when namespace is
// empty) and compares the served leaf with the one in its Secret.
func Check(ctx context.Context, req CheckRequest, c client.Client, namespace string, now time.Time) (*CheckReport, error) {
	host, port, err := net.SplitHostPort(req.Target)
	if err != nil {
		host, port = req.Target, "443"
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	addr := req.Address
	if addr == "" {
		addr = net.JoinHostPort(host, port)
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	dialer := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: timeout},
		// Verification is done below, so that a bad chain is reported
		// rather than refused.
		Config: &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // verified by hand below, to report why not
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dialer.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("TLS connection to %s (SNI %s): %w", addr, host, err)
	}
	state := conn.(*tls.Conn).ConnectionState()
	_ = conn.Close()
	certs := state.PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s sent no certificate for %s", addr, host)
	}
	leaf := certs[0]
	r := &CheckReport{Host: host, Address: addr, TLSVersion: tls.VersionName(state.Version), Hosts: pki.Hosts(leaf), Expiry: leaf.NotAfter.UTC()}
	for _, cert := range certs {
		r.Chain = append(r.Chain, certInfo(cert))
	}
	if pki.Covers(leaf, host) {
		r.CoversHost = Verdict{OK: true}
	} else {
		r.CoversHost = Verdict{Detail: "certificate is for " + strings.Join(r.Hosts, ", ")}
	}
	r.Trusted, err = trusted(certs, host, req.RootPEM, now)
	if err != nil {
		return nil, err
	}
	if c != nil {
		if err := r.compareWithSecret(ctx, c, namespace, leaf); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// trusted verifies the served chain for host against rootPEM, or the
// system roots when it is nil.
func trusted(certs []*x509.Certificate, host string, rootPEM []byte, now time.Time) (Verdict, error) {
	opts := x509.VerifyOptions{DNSName: host, CurrentTime: now, Intermediates: x509.NewCertPool()}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if rootPEM != nil {
		roots, err := pki.ParseCertificates(rootPEM)
		if err != nil {
			return Verdict{}, fmt.Errorf("--root: %w", err)
		}
		opts.Roots = x509.NewCertPool()
		for _, r := range roots {
			opts.Roots.AddCert(r)
		}
	}
	_, verifyErr := certs[0].Verify(opts)
	return verdictOf(verifyErr), nil
}

// compareWithSecret finds the Certificate edgecert holds for the host (the
// first, by namespace and name, whose dnsNames cover it) and compares the
// served leaf with its Secret's.
func (r *CheckReport) compareWithSecret(ctx context.Context, c client.Client, namespace string, served *x509.Certificate) error {
	var list edgecertv1alpha1.CertificateList
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := c.List(ctx, &list, opts...); err != nil {
		return fmt.Errorf("list Certificates: %w", err)
	}
	var found *edgecertv1alpha1.Certificate
	for i := range list.Items {
		cert := &list.Items[i]
		if coversName(cert.Spec.DNSNames, r.Host) && (found == nil || cert.Namespace+"/"+cert.Name < found.Namespace+"/"+found.Name) {
			found = cert
		}
	}
	if found == nil {
		where := "any namespace"
		if namespace != "" {
			where = "namespace " + namespace
		}
		r.MatchesSecret = &Verdict{Detail: "no Certificate for " + r.Host + " in " + where}
		return nil
	}
	r.Certificate = found.Namespace + "/" + found.Name
	var s corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: found.Namespace, Name: found.Spec.SecretName}, &s); err != nil {
		r.MatchesSecret = &Verdict{Detail: fmt.Sprintf("cannot read Secret %s/%s: %v", found.Namespace, found.Spec.SecretName, err)}
		return nil
	}
	certs, err := pki.ParseCertificates(s.Data[corev1.TLSCertKey])
	if err != nil {
		r.MatchesSecret = &Verdict{Detail: fmt.Sprintf("Secret %s/%s holds no certificate: %v", found.Namespace, found.Spec.SecretName, err)}
		return nil
	}
	held := certs[0]
	if bytes.Equal(held.Raw, served.Raw) {
		r.MatchesSecret = &Verdict{OK: true, Detail: "Secret " + found.Namespace + "/" + found.Spec.SecretName}
		return nil
	}
	r.MatchesSecret = &Verdict{Detail: fmt.Sprintf("served serial %s (expires %s), Secret %s/%s holds serial %s (expires %s)",
		served.SerialNumber.Text(16), served.NotAfter.UTC().Format(time.RFC3339), found.Namespace, found.Spec.SecretName,
		held.SerialNumber.Text(16), held.NotAfter.UTC().Format(time.RFC3339))}
	return nil
}

// coversName reports whether a Certificate's dnsNames cover host, by the
// same rule as a certificate's names.
func coversName(names []string, host string) bool {
	return pki.Covers(&x509.Certificate{DNSNames: names}, host)
}

// PrintCheck prints the report as key: value lines and the chain.
func (p *Printer) PrintCheck(r *CheckReport) error {
	if done, err := p.structured(r); done {
		return err
	}
	lines := [][]string{
		{"Host:", r.Host + " at " + r.Address + " (" + r.TLSVersion + ")"},
		{"Hosts:", strings.Join(r.Hosts, ", ")},
		{"Expires:", p.when(&r.Expiry)},
		{"Covers host:", p.yesNo(r.CoversHost)},
		{"Trusted:", p.yesNo(r.Trusted)},
	}
	if r.MatchesSecret != nil {
		lines = append(lines, []string{"Certificate:", or(r.Certificate)}, []string{"Matches Secret:", p.yesNo(*r.MatchesSecret)})
	}
	var b strings.Builder
	keyValues(&b, lines)
	b.WriteString("\n")
	printChain(&b, r.Chain)
	return p.emit(&b)
}
