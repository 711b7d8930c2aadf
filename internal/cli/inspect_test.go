package cli_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgecert/edgecert/internal/cli"
	"github.com/edgecert/edgecert/internal/testenv"
)

// issued makes a namespace with an Issuer and a Ready Certificate "app"
// for host, and returns the namespace and Pebble's issuance root.
func issued(t *testing.T, prefix, host string) (string, []byte) {
	t.Helper()
	ns := newNamespace(t, prefix)
	newIssuer(t, ns)
	waitRevision(t, newCertificate(t, ns, "app", "pebble", nil, strings.ReplaceAll(host, "NS", ns)), 1)
	root, err := bed.Pebble.IssuanceRootPEM()
	if err != nil {
		t.Fatal(err)
	}
	return ns, root
}

func TestInspectSecret(t *testing.T) {
	ctx := context.Background()
	ns, root := issued(t, "inspect", "inspect-NS.example.test")
	host := "inspect-" + ns + ".example.test"
	leaf, secret := secretLeaf(t, ns, "app-tls")
	cl := connect(t, ns)

	r, err := cli.InspectSecret(ctx, cl, ns, "app-tls", root, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(leaf.Raw)
	if r.Type != "kubernetes.io/tls" || r.Certificate != "app" || len(r.Hosts) != 1 || r.Hosts[0] != host || r.KeyType != "ECDSA P-256" ||
		!r.Expiry.Equal(leaf.NotAfter) || r.Issuer != leaf.Issuer.String() || len(r.Chain) < 2 || r.Chain[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("report = %+v; want the leaf for %s, ECDSA P-256, its expiry and issuer, leaf then intermediates", r, host)
	}
	if !r.KeyMatches.OK || r.ChainsToRoot == nil || !r.ChainsToRoot.OK || len(r.Problems) != 0 {
		t.Errorf("key matches %+v, chains to Pebble's root %+v, problems %v; want yes, yes, none", r.KeyMatches, r.ChainsToRoot, r.Problems)
	}

	// Another root: the chain does not lead there.
	r, err = cli.InspectSecret(ctx, cl, ns, "app-tls", bed.Pebble.ServerCAPEM, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.ChainsToRoot == nil || r.ChainsToRoot.OK || !strings.Contains(r.ChainsToRoot.Detail, "certificate signed by unknown authority") {
		t.Errorf("chains to another root = %+v, want no: unknown authority", r.ChainsToRoot)
	}

	// A Secret whose key is not the leaf's.
	_, otherKey := testenv.SelfSigned(time.Now(), time.Now().Add(time.Hour), host)
	bad := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mixed"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": secret.Data["tls.crt"], "tls.key": otherKey}}
	if err := c().Create(ctx, bad); err != nil {
		t.Fatal(err)
	}
	r, err = cli.InspectSecret(ctx, cl, ns, "mixed", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.KeyMatches.OK || r.KeyMatches.Detail != "private key does not match the certificate" || r.ChainsToRoot != nil {
		t.Errorf("key matches = %+v, chains to root %+v; want no: does not match, and no root check", r.KeyMatches, r.ChainsToRoot)
	}
	out := printed(t, cli.Table, func(p *cli.Printer) error { return p.PrintSecret(r) })
	for _, line := range []string{
		"Secret:          " + ns + "/mixed (kubernetes.io/tls)\n",
		"Key matches:     no (private key does not match the certificate)\n",
		"problem: key: private key does not match the certificate\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("printed report lacks %q:\n%s", line, out)
		}
	}
	if _, err := cli.InspectSecret(ctx, cl, ns, "nope", nil, time.Now()); err == nil || err.Error() != `secret "nope" not found in namespace "`+ns+`"` {
		t.Errorf("missing Secret: %v", err)
	}
}

// serveTLS serves certPEM/keyPEM on a loopback port until the test ends.
func serveTLS(t *testing.T, certPEM, keyPEM []byte) string {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func(conn net.Conn) {
				defer conn.Close()
				_ = conn.(*tls.Conn).Handshake()
			}(conn)
		}
	}()
	return ln.Addr().String()
}

// check connects to a local TLS server serving the issued Secret, then to
// one serving another certificate for the same host.
func TestCheckALiveEndpointAgainstTheSecret(t *testing.T) {
	ctx := context.Background()
	ns, root := issued(t, "check", "check-NS.example.test")
	host := "check-" + ns + ".example.test"
	leaf, secret := secretLeaf(t, ns, "app-tls")
	addr := serveTLS(t, secret.Data["tls.crt"], secret.Data["tls.key"])
	cl := connect(t, ns)

	r, err := cli.Check(ctx, cli.CheckRequest{Target: host + ":8443", Address: addr, RootPEM: root}, cl, ns, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(leaf.Raw)
	if r.Host != host || r.Address != addr || r.TLSVersion != "TLS 1.3" || len(r.Chain) < 2 || r.Chain[0].SHA256 != hex.EncodeToString(sum[:]) || !r.Expiry.Equal(leaf.NotAfter) {
		t.Errorf("report = %+v; want the Secret's chain over TLS 1.3 from %s", r, addr)
	}
	if !r.CoversHost.OK || !r.Trusted.OK || r.Certificate != ns+"/app" || r.MatchesSecret == nil || *r.MatchesSecret != (cli.Verdict{OK: true, Detail: "Secret " + ns + "/app-tls"}) {
		t.Errorf("covers %+v, trusted %+v, certificate %q, matches %+v; want yes, yes, %s/app, yes", r.CoversHost, r.Trusted, r.Certificate, r.MatchesSecret, ns)
	}

	// Another certificate for the host: not trusted, not edgecert's.
	otherCert, otherKey := testenv.SelfSigned(time.Now().Add(-time.Hour), time.Now().Add(time.Hour), host)
	other := serveTLS(t, otherCert, otherKey)
	r, err = cli.Check(ctx, cli.CheckRequest{Target: host, Address: other, RootPEM: root}, cl, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !r.CoversHost.OK || r.Trusted.OK || r.MatchesSecret == nil || r.MatchesSecret.OK ||
		!strings.HasPrefix(r.MatchesSecret.Detail, "served serial ") || !strings.Contains(r.MatchesSecret.Detail, "Secret "+ns+"/app-tls holds serial "+leaf.SerialNumber.Text(16)) {
		t.Errorf("covers %+v, trusted %+v, matches %+v; want yes, no, no naming the Secret's serial", r.CoversHost, r.Trusted, r.MatchesSecret)
	}
	out := printed(t, cli.Table, func(p *cli.Printer) error { return p.PrintCheck(r) })
	if !strings.Contains(out, "Certificate:     "+ns+"/app\n") || !strings.Contains(out, "Matches Secret:  no (served serial ") {
		t.Errorf("printed report:\n%s", out)
	}

	// A host no Certificate covers, in this namespace.
	r, err = cli.Check(ctx, cli.CheckRequest{Target: "elsewhere.example.test", Address: addr, RootPEM: root}, cl, ns, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.CoversHost.OK || r.CoversHost.Detail != "certificate is for "+host || r.MatchesSecret == nil || r.MatchesSecret.Detail != "no Certificate for elsewhere.example.test in namespace "+ns {
		t.Errorf("covers %+v, matches %+v", r.CoversHost, r.MatchesSecret)
	}

	// Nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()
	if _, err := cli.Check(ctx, cli.CheckRequest{Target: host, Address: closed}, nil, "", time.Now()); err == nil || !strings.HasPrefix(err.Error(), "TLS connection to "+closed+" (SNI "+host+"): ") {
		t.Errorf("closed port: %v", err)
	}
}
