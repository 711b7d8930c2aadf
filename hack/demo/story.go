package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/cli"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
)

// The demo's cast: the platform's Gateway and its gateway workload
// namespace, and one tenant.
const (
	gatewayNamespace = "istio-system"
	gatewayName      = "public"
	tenant           = "shop"
	app              = "web"
	steps            = 6
	// ingressIP is the address the demo's gateway Service gets from its
	// (pretend) load balancer: a loopback address the TLS step listens on.
	ingressIP = "127.0.0.2"
	// controllerNamespace is edgecert's own (manager.DefaultOptions).
	controllerNamespace = "edgecert-system"
)

// story is the demo's main act, told step by step with timings.
type story struct {
	out  io.Writer
	bed  *testenv.Bed
	zone string

	// declared is when the tenant declared its host.
	declared time.Time
	// tlsSeen is what the TLS client saw, once it connected.
	tlsSeen string
}

func (s *story) step(n int, format string, args ...any) {
	_, _ = fmt.Fprintf(s.out, "[%d/%d] %s\n", n, steps, fmt.Sprintf(format, args...))
}

func (s *story) tell(ctx context.Context) error {
	c := s.bed.ControlPlane.Client
	host := "www." + tenant + "." + s.zone

	// 1. The platform team: an issuer and the rule book.
	issuer := s.bed.ClusterIssuer("pebble", edgecertv1alpha1.ACMESolver{HTTP01: &edgecertv1alpha1.HTTP01Solver{}}, s.bed.BINDSolver(s.zone))
	issuer.Spec.ACME.Email = "ops@" + s.zone
	policy := &edgecertv1alpha1.GatewayPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "platform"},
		Spec: edgecertv1alpha1.GatewayPolicySpec{
			Gateways: []edgecertv1alpha1.PolicyGateway{{TrafficType: edgecertv1alpha1.TrafficTypeIngress, Namespace: gatewayNamespace, Name: gatewayName,
				Selector: map[string]string{"istio": "ingressgateway"}}},
			Claims: []edgecertv1alpha1.HostClaim{{Namespaces: []string{tenant}, Domains: []string{tenant + "." + s.zone}}},
		},
	}
	ingress := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: gatewayNamespace, Name: "istio-ingressgateway"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"istio": "ingressgateway"},
			Ports: []corev1.ServicePort{{Name: "https", Port: 443}}},
	}
	zone := &edgecertv1alpha1.DNSZone{
		ObjectMeta: metav1.ObjectMeta{Name: "demo"},
		Spec: edgecertv1alpha1.DNSZoneSpec{Zone: s.zone, OwnerID: "edgecert-demo", Policy: edgecertv1alpha1.DNSPolicySync,
			Provider: edgecertv1alpha1.DNSZoneProvider{RFC2136: s.bed.BINDSolver().DNS01.RFC2136}},
	}
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: gatewayNamespace}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tenant}},
		s.bed.TSIGSecret(controllerNamespace),
		issuer,
		policy,
		ingress,
		zone,
	} {
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("create %T %s: %w", o, o.GetName(), err)
		}
	}
	// What a cloud load balancer would do for the gateway's Service.
	ingress.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ingressIP}}
	if err := c.Status().Update(ctx, ingress); err != nil {
		return err
	}
	s.step(1, "Platform team: ClusterIssuer pebble (Pebble, DNS-01 through BIND), GatewayPolicy platform\n"+
		"      (ingress through Istio Gateway %s/%s; namespace %s may use %s.%s) and DNSZone demo (%s in BIND)",
		gatewayNamespace, gatewayName, tenant, tenant, s.zone, s.zone)

	// 2. The tenant declares its host.
	gs := &edgecertv1alpha1.GatewayService{
		ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: app},
		Spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{host}, Port: 443, Protocol: "HTTPS",
			TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "SIMPLE", IssuerRef: &edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.ClusterIssuerKind, Name: "pebble"}}},
	}
	if err := c.Create(ctx, gs); err != nil {
		return fmt.Errorf("create GatewayService: %w", err)
	}
	s.declared = time.Now()
	s.step(2, "Tenant: GatewayService %s/%s for https://%s (port 443, certificate from ClusterIssuer pebble)", tenant, app, host)

	// 3. edgecert issues the certificate.
	certName := gateway.CertificateName(app)
	var cert edgecertv1alpha1.Certificate
	if err := s.waitFor(ctx, "Certificate "+tenant+"/"+certName+" Ready", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Namespace: tenant, Name: certName}, &cert)
		return err == nil && meta.IsStatusConditionTrue(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition), client.IgnoreNotFound(err)
	}); err != nil {
		return err
	}
	var issued corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: tenant, Name: cert.Spec.SecretName}, &issued); err != nil {
		return err
	}
	kp, err := pki.ParseKeyPair(issued.Data[corev1.TLSCertKey], issued.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return fmt.Errorf("issued Secret: %w", err)
	}
	s.step(3, "edgecert: Certificate %s/%s issued by %q in %s (DNS-01 through BIND)\n"+
		"      Secret %s/%s: %s, valid until %s, renewal at %s", tenant, certName, kp.Leaf.Issuer.CommonName, since(s.declared),
		tenant, issued.Name, strings.Join(kp.Leaf.DNSNames, ", "), kp.Leaf.NotAfter.UTC().Format(time.RFC3339), cert.Status.RenewalTime.UTC().Format(time.RFC3339))

	// 4. edgecert writes the server into the platform's Gateway.
	if err := s.waitFor(ctx, "GatewayService "+tenant+"/"+app+" Ready", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(gs), gs)
		return err == nil && meta.IsStatusConditionTrue(gs.Status.Conditions, edgecertv1alpha1.ReadyCondition), err
	}); err != nil {
		return err
	}
	gw := kube.NewUnstructured(kube.IstioGatewayGVK, gatewayNamespace, gatewayName)
	if err := c.Get(ctx, client.ObjectKeyFromObject(gw), gw); err != nil {
		return err
	}
	server, err := serverOf(gw, gs.Status.PortName)
	if err != nil {
		return err
	}
	s.step(4, "edgecert: server %s in Istio Gateway %s/%s after %s (the Gateway created from the policy's selector):\n%s",
		gs.Status.PortName, gatewayNamespace, gatewayName, since(s.declared), indent(server, "        "))

	// 5. edgecert publishes the host.
	var addrs []string
	if err := s.waitFor(ctx, host+" in BIND", func() (bool, error) {
		_, a, err := s.bed.BIND.Records(host, "A")
		addrs = a
		return len(a) == 1 && a[0] == ingressIP, err
	}); err != nil {
		return err
	}
	_, owner, err := s.bed.BIND.Records("a-"+host, "TXT")
	if err != nil {
		return err
	}
	s.step(5, "edgecert: DNS record in BIND after %s (the gateway Service's load balancer address; external-dns's ownership record)\n"+
		"        %s. A %s\n        a-%s. TXT %q", since(s.declared), host, strings.Join(addrs, ","), host, strings.Join(owner, ""))

	// 6. A TLS client meets what the gateway serves.
	var credential corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: gatewayNamespace, Name: gs.Status.CredentialName}, &credential); err != nil {
		return fmt.Errorf("the Gateway's credential: %w", err)
	}
	root, err := s.bed.Pebble.IssuanceRootPEM()
	if err != nil {
		return err
	}
	seen, err := handshake(ctx, credential.Data[corev1.TLSCertKey], credential.Data[corev1.TLSPrivateKeyKey], root, addrs[0], host)
	if err != nil {
		return fmt.Errorf("TLS step: %w", err)
	}
	s.tlsSeen = seen
	s.step(6, "TLS: a client resolved %s through BIND to %s and connected to a server holding the gateway's credential (Secret %s/%s)\n%s",
		host, addrs[0], gatewayNamespace, credential.Name, indent(seen, "        "))

	// What a platform engineer sees.
	report, err := cli.Status(ctx, c, "", true)
	if err != nil {
		return err
	}
	var table strings.Builder
	p, err := cli.NewPrinter(&table, cli.Table)
	if err != nil {
		return err
	}
	if err := p.PrintStatus(report); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(s.out, "\n$ edgecert status -A\n%s", table.String())
	return nil
}

// waitFor polls done every 20 ms for up to a minute.
func (s *story) waitFor(ctx context.Context, what string, done func() (bool, error)) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ok, err := done()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not after a minute (edgecert's logs say why)", what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// serverOf is the server named portName in gw, as YAML.
func serverOf(gw *unstructured.Unstructured, portName string) (string, error) {
	servers, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
	for _, e := range servers {
		if gateway.RawPortName(e) == portName {
			out, err := yaml.Marshal([]any{e})
			return string(out), err
		}
	}
	return "", fmt.Errorf("gateway %s/%s has no server %s", gw.GetNamespace(), gw.GetName(), portName)
}

// handshake serves certPEM and keyPEM on a TLS listener at ip (a
// loopback address), as the gateway would, connects to it as a client
// that trusts only rootPEM and asks for host (SNI), and says what the
// client saw.
func handshake(ctx context.Context, certPEM, keyPEM, rootPEM []byte, ip, host string) (string, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return "", err
	}
	ln, err := tls.Listen("tcp", net.JoinHostPort(ip, "0"), &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return "", err
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.(*tls.Conn).HandshakeContext(ctx)
	}()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		return "", errors.New("no certificate in Pebble's root")
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: &tls.Config{ServerName: host, RootCAs: roots, MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return "", err
	}
	defer conn.Close()
	state := conn.(*tls.Conn).ConnectionState()
	var chain []string
	for _, c := range state.VerifiedChains[0] {
		name := c.Subject.CommonName
		if name == "" && len(c.DNSNames) > 0 {
			name = c.DNSNames[0] // ACME CAs may leave the leaf's CN out
		}
		chain = append(chain, name)
	}
	leaf := state.PeerCertificates[0]
	return fmt.Sprintf("%s, %s; names %s, valid until %s\nchain %s: verified against Pebble's root",
		tls.VersionName(state.Version), tls.CipherSuiteName(state.CipherSuite), strings.Join(leaf.DNSNames, ", "),
		leaf.NotAfter.UTC().Format(time.RFC3339), strings.Join(chain, " <- ")), nil
}

func indent(text, prefix string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix)
}

func since(t time.Time) string {
	d := time.Since(t)
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

func trimDot(s string) string { return strings.TrimSuffix(s, ".") }
