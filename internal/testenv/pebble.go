package testenv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// PebbleOptions choose how the test ACME CA behaves.
type PebbleOptions struct {
	// DNSServer is the resolver Pebble validates challenges with, host:port;
	// normally the test BIND's Addr.
	DNSServer string
	// HTTPPort is the port Pebble connects to for HTTP-01 (default 5002).
	HTTPPort int
	// TLSPort is the port Pebble connects to for TLS-ALPN-01 (default 5001).
	TLSPort int
	// RequireEAB makes new accounts need External Account Binding.
	RequireEAB bool
	// Env adds environment variables, e.g. PEBBLE_WFE_NONCEREJECT=15.
	// PEBBLE_VA_NOSLEEP=1 is always set.
	Env []string
}

// Pebble is a running Pebble, Let's Encrypt's test ACME CA, on loopback.
type Pebble struct {
	// DirectoryURL is the ACME directory, e.g. https://127.0.0.1:N/dir, on
	// a gate in front of Pebble that keeps it clear of a deadlock of its
	// own (see pebbleGate).
	DirectoryURL string
	// ManagementURL serves Pebble's roots and intermediates, and takes
	// test-only changes such as SetRenewalInfo.
	ManagementURL string
	// ServerCAPEM is the CA that signed Pebble's HTTPS listener: what an ACME
	// client must trust to talk to Pebble (Pebble's "test root CA").
	ServerCAPEM []byte

	dir  string
	proc *process
	gate *pebbleGate
}

// StartPebble starts Pebble from bin/ (`make tools`) with a fresh listener
// certificate, on free loopback ports, resolving names through
// opts.DNSServer. Stop it with Stop.
func StartPebble(opts PebbleOptions) (*Pebble, error) {
	bin, err := toolPath("pebble", "PEBBLE_VERSION")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "edgecert-pebble-")
	if err != nil {
		return nil, err
	}
	caPEM, certPEM, keyPEM, err := selfSignedServing("edgecert test Pebble CA", []string{"localhost", "pebble"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	for name, data := range map[string][]byte{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	apiPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	mgmtPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	if opts.HTTPPort == 0 {
		opts.HTTPPort = 5002
	}
	if opts.TLSPort == 0 {
		opts.TLSPort = 5001
	}
	config := map[string]any{"pebble": map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", apiPort),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", mgmtPort),
		"certificate":                    filepath.Join(dir, "cert.pem"),
		"privateKey":                     filepath.Join(dir, "key.pem"),
		"httpPort":                       opts.HTTPPort,
		"tlsPort":                        opts.TLSPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": opts.RequireEAB,
		// No Retry-After: clients poll at their own pace (edgecert starts at 20 ms).
		"retryAfter":   map[string]int{"authz": 0, "order": 0},
		"keyAlgorithm": "ecdsa",
		"profiles": map[string]any{
			"default":    map[string]any{"description": "90 days", "validityPeriod": 90 * 24 * 3600},
			"shortlived": map[string]any{"description": "6 days", "validityPeriod": 6 * 24 * 3600},
		},
	}}
	data, _ := json.MarshalIndent(config, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "pebble-config.json"), data, 0o600); err != nil {
		return nil, err
	}
	args := []string{"-config", filepath.Join(dir, "pebble-config.json")}
	if opts.DNSServer != "" {
		args = append(args, "-dnsserver", opts.DNSServer)
	}
	env := append([]string{"PEBBLE_VA_NOSLEEP=1"}, opts.Env...)
	p := &Pebble{
		DirectoryURL:  fmt.Sprintf("https://127.0.0.1:%d/dir", apiPort),
		ManagementURL: fmt.Sprintf("https://127.0.0.1:%d", mgmtPort),
		ServerCAPEM:   caPEM,
		dir:           dir,
	}
	p.proc, err = startProcess("pebble", dir, bin, args, env)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := p.proc.waitReady(20*time.Second, func() error {
		_, err := p.get(p.DirectoryURL)
		return err
	}); err != nil {
		p.Stop()
		return nil, err
	}
	// Clients reach Pebble through the gate (see pebbleGate).
	listener, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		p.Stop()
		return nil, err
	}
	if p.gate, err = startPebbleGate(fmt.Sprintf("127.0.0.1:%d", apiPort), listener, caPEM); err != nil {
		p.Stop()
		return nil, err
	}
	p.DirectoryURL = "https://" + p.gate.Addr() + "/dir"
	return p, nil
}

// HTTPClient trusts Pebble's listener certificate and nothing else.
func (p *Pebble) HTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.ServerCAPEM)
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
}

// IssuanceRootPEM is the root of the chains Pebble issues. Pebble makes a new
// one at each start.
func (p *Pebble) IssuanceRootPEM() ([]byte, error) {
	return p.get(p.ManagementURL + "/roots/0")
}

func (p *Pebble) get(url string) ([]byte, error) {
	resp, err := p.HTTPClient().Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// OrdersCreated counts the ACME orders Pebble has created since it started,
// from its own log ("Added order ... to the db", written before the order is
// returned to the client), so that a test can check that a controller made
// exactly as many orders as it should, e.g. none when it resumes one.
func (p *Pebble) OrdersCreated() (int, error) {
	data, err := os.ReadFile(p.proc.log)
	if err != nil {
		return 0, err
	}
	return bytes.Count(data, []byte(`Added order "`)), nil
}

// SetRenewalInfo makes Pebble answer ariJSON (an ACME renewalInfo object,
// e.g. {"suggestedWindow":{"start":"...","end":"..."}}, or anything else to
// test a client against malformed data) for the certificate in certPEM (its
// leaf first, as a chain is), through Pebble's management interface, so a
// test can move a certificate's renewal window.
func (p *Pebble) SetRenewalInfo(certPEM []byte, ariJSON string) error {
	body, err := json.Marshal(map[string]string{"Certificate": string(certPEM), "ARIResponse": ariJSON})
	if err != nil {
		return err
	}
	resp, err := p.HTTPClient().Post(p.ManagementURL+"/set-renewal-info/", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("set renewal info: %s: %s", resp.Status, msg)
	}
	return nil
}

// Pid is the process id of Pebble.
func (p *Pebble) Pid() int { return p.proc.Pid() }

// Stop ends Pebble and removes its directory.
func (p *Pebble) Stop() {
	if p.gate != nil {
		p.gate.close()
	}
	if p.proc != nil {
		p.proc.stop()
	}
	os.RemoveAll(p.dir)
}

// selfSignedServing makes a throwaway CA and a serving certificate it signs.
func selfSignedServing(caName string, dnsNames []string, ips []net.IP) (caPEM, certPEM, keyPEM []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: caName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		IPAddresses:  ips,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
