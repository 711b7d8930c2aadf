package gatewayservice_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/controller/gatewayservice"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
)

func cmpDiff(want, got any) string { return cmp.Diff(want, got) }

// TestEachProtocolAndModeRendersAServerIstioAccepts puts one server of each
// protocol, TLS mode and TLS source into one Gateway next to a
// hand-written server. The API server checks each write against Istio's
// CRD schema and CEL rules; the test checks each server against istiod's
// webhook rules, the copies of the Secrets, and the hand-written server.
func TestEachProtocolAndModeRendersAServerIstioAccepts(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "tenant", nil)
	cl := newCluster(t, false, nil, ns)
	host := func(h string) string { return h + "." + ns + ".example.test" }
	if err := c().Create(ctx, tlsSecret(t, ns, "web-tls", true, "*."+ns+".example.test")); err != nil {
		t.Fatal(err)
	}
	paths := &edgecertv1alpha1.TLSSecretPath{ServerCertificate: "/etc/istio/certs/tls.crt", PrivateKey: "/etc/istio/certs/tls.key", CACertificates: "/etc/istio/certs/ca.crt"}
	// want is each server as Istio reads it from the Gateway, written out:
	// port name "<protocol>-<name>-<namespace>", hosts "<namespace>/<host>",
	// credentialName "<namespace>.<name>" for a copied Secret.
	specs := map[string]struct {
		spec edgecertv1alpha1.GatewayServiceSpec
		want map[string]any
	}{
		"http": {spec: httpSpec(80, host("www")), want: map[string]any{
			"port":  map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http-http-" + ns},
			"hosts": []any{ns + "/www." + ns + ".example.test"},
		}},
		"redirect": {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{host("redirect")}, Port: 80, Protocol: "HTTP", HTTPSRedirect: true}, want: map[string]any{
			"port":  map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http-redirect-" + ns},
			"hosts": []any{ns + "/redirect." + ns + ".example.test"},
			"tls":   map[string]any{"httpsRedirect": true},
		}},
		"grpc": {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{host("grpc")}, Port: 8080, Protocol: "GRPC"}, want: map[string]any{
			"port":  map[string]any{"number": int64(8080), "protocol": "GRPC", "name": "grpc-grpc-" + ns},
			"hosts": []any{ns + "/grpc." + ns + ".example.test"},
		}},
		"http2": {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{host("h2")}, Port: 8080, Protocol: "HTTP2"}, want: map[string]any{
			"port":  map[string]any{"number": int64(8080), "protocol": "HTTP2", "name": "http2-http2-" + ns},
			"hosts": []any{ns + "/h2." + ns + ".example.test"},
		}},
		"mongo": {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{host("mongo")}, Port: 27017, Protocol: "MONGO"}, want: map[string]any{
			"port":  map[string]any{"number": int64(27017), "protocol": "MONGO", "name": "mongo-mongo-" + ns},
			"hosts": []any{ns + "/mongo." + ns + ".example.test"},
		}},
		"tcp": {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{host("tcp")}, Port: 9000, Protocol: "TCP"}, want: map[string]any{
			"port":  map[string]any{"number": int64(9000), "protocol": "TCP", "name": "tcp-tcp-" + ns},
			"hosts": []any{ns + "/tcp." + ns + ".example.test"},
		}},
		"simple": {spec: secretRefSpec("web-tls", host("shop"), "*."+ns+".example.test"), want: map[string]any{
			"port":  map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https-simple-" + ns},
			"hosts": []any{ns + "/shop." + ns + ".example.test", ns + "/*." + ns + ".example.test"},
			"tls":   map[string]any{"mode": "SIMPLE", "credentialName": ns + ".simple"},
		}},
		"mutual": {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{host("mtls")}, Port: 8443, Protocol: "HTTPS", TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "MUTUAL", MinProtocolVersion: "TLSV1_2", MaxProtocolVersion: "TLSV1_3", SecretRef: &edgecertv1alpha1.LocalSecretReference{Name: "web-tls"}}}, want: map[string]any{
			"port":  map[string]any{"number": int64(8443), "protocol": "HTTPS", "name": "https-mutual-" + ns},
			"hosts": []any{ns + "/mtls." + ns + ".example.test"},
			"tls":   map[string]any{"mode": "MUTUAL", "credentialName": ns + ".mutual", "minProtocolVersion": "TLSV1_2", "maxProtocolVersion": "TLSV1_3"},
		}},
		"passthrough": {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{host("db")}, Port: 15443, Protocol: "TLS", TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "PASSTHROUGH"}}, want: map[string]any{
			"port":  map[string]any{"number": int64(15443), "protocol": "TLS", "name": "tls-passthrough-" + ns},
			"hosts": []any{ns + "/db." + ns + ".example.test"},
			"tls":   map[string]any{"mode": "PASSTHROUGH"},
		}},
		"tls-simple": {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{host("smtp")}, Port: 465, Protocol: "TLS", TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "SIMPLE", SecretRef: &edgecertv1alpha1.LocalSecretReference{Name: "web-tls"}}}, want: map[string]any{
			"port":  map[string]any{"number": int64(465), "protocol": "TLS", "name": "tls-tls-simple-" + ns},
			"hosts": []any{ns + "/smtp." + ns + ".example.test"},
			"tls":   map[string]any{"mode": "SIMPLE", "credentialName": ns + ".tls-simple"},
		}},
		"path-simple": {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{host("legacy")}, Port: 9443, Protocol: "HTTPS", TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "SIMPLE", SecretPath: &edgecertv1alpha1.TLSSecretPath{ServerCertificate: paths.ServerCertificate, PrivateKey: paths.PrivateKey}}}, want: map[string]any{
			"port":  map[string]any{"number": int64(9443), "protocol": "HTTPS", "name": "https-path-simple-" + ns},
			"hosts": []any{ns + "/legacy." + ns + ".example.test"},
			"tls":   map[string]any{"mode": "SIMPLE", "serverCertificate": "/etc/istio/certs/tls.crt", "privateKey": "/etc/istio/certs/tls.key"},
		}},
		"path-mutual": {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{host("legacy-mtls")}, Port: 9444, Protocol: "HTTPS", TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "MUTUAL", SecretPath: paths}}, want: map[string]any{
			"port":  map[string]any{"number": int64(9444), "protocol": "HTTPS", "name": "https-path-mutual-" + ns},
			"hosts": []any{ns + "/legacy-mtls." + ns + ".example.test"},
			"tls":   map[string]any{"mode": "MUTUAL", "serverCertificate": "/etc/istio/certs/tls.crt", "privateKey": "/etc/istio/certs/tls.key", "caCertificates": "/etc/istio/certs/ca.crt"},
		}},
		"redirect-only": {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{host("old")}, Port: 8081, Protocol: "HTTP", HTTPSRedirect: true}, want: map[string]any{
			"port":  map[string]any{"number": int64(8081), "protocol": "HTTP", "name": "http-redirect-only-" + ns},
			"hosts": []any{ns + "/old." + ns + ".example.test"},
			"tls":   map[string]any{"httpsRedirect": true},
		}},
	}
	objs := map[string]*edgecertv1alpha1.GatewayService{}
	for name, tc := range specs {
		objs[name] = newGS(t, ns, name, tc.spec)
	}
	servers := map[string]*edgecertv1alpha1.GatewayService{}
	for name, gs := range objs {
		servers[name] = waitReady(t, gs, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	}
	inGateway, owners := cl.servers(t)
	var all []gateway.Server
	for name, gs := range servers {
		credential := ""
		if gs.Spec.TLS != nil && gs.Spec.TLS.SecretRef != nil {
			credential = ns + "." + name
		}
		if gs.Status.CredentialName != credential {
			t.Errorf("%s: status.credentialName = %q, want %q", name, gs.Status.CredentialName, credential)
		}
		want := specs[name].want
		portName := want["port"].(map[string]any)["name"].(string)
		if gs.Status.PortName != portName || gs.Status.Gateway != cl.gwNamespace+"/"+cl.gwName {
			t.Errorf("%s: status port name %q, gateway %q", name, gs.Status.PortName, gs.Status.Gateway)
		}
		if diff := cmp.Diff(want, inGateway[portName]); diff != "" {
			t.Errorf("%s: server in the Gateway (-want +got):\n%s", name, diff)
		}
		if owners[portName] != ns+"/"+name {
			t.Errorf("%s: owners annotation gives %q to %q", name, portName, owners[portName])
		}
		srv, err := gateway.ParseServer(inGateway[portName])
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, srv)
		for _, h := range srv.Hosts {
			if !strings.HasPrefix(h, ns+"/") {
				t.Errorf("%s: host %q is not in namespace/host form", name, h)
			}
		}
		if credential != "" {
			var copied corev1.Secret
			if err := c().Get(ctx, types.NamespacedName{Namespace: cl.gwNamespace, Name: credential}, &copied); err != nil {
				t.Fatalf("%s: copy in the workload namespace: %v", name, err)
			}
			if _, err := pki.ParseKeyPair(copied.Data[corev1.TLSCertKey], copied.Data[corev1.TLSPrivateKeyKey]); err != nil || copied.Type != corev1.SecretTypeTLS {
				t.Errorf("%s: copy is not a valid TLS Secret: %v", name, err)
			}
			if hasCA := len(copied.Data["ca.crt"]) > 0; hasCA != (gs.Spec.TLS.Mode == "MUTUAL") {
				t.Errorf("%s: copy has ca.crt = %v for mode %s", name, hasCA, gs.Spec.TLS.Mode)
			}
			if copied.Labels["app.kubernetes.io/managed-by"] != "edgecert" {
				t.Errorf("%s: copy is not labelled as edgecert's", name)
			}
		}
	}
	hand, _ := gateway.ParseServer(cl.handWritten)
	if err := gateway.ValidateGateway(append(all, hand)); err != nil {
		t.Errorf("the Gateway fails istiod's checks: %v", err)
	}
	if len(inGateway) != len(specs)+1 {
		t.Errorf("the Gateway has %d servers, want %d", len(inGateway), len(specs)+1)
	}
	cl.checkHandWritten(t)
}

// TestConflictOlderWinsNewerReports: two namespaces claim the same host on
// the same port. The older keeps it; the newer is refused with a reason
// naming the older, and gets the host once the older is deleted.
func TestConflictOlderWinsNewerReports(t *testing.T) {
	ctx := context.Background()
	nsA := newNamespace(t, "team-a", nil)
	nsB := newNamespace(t, "team-b", nil)
	cl := newCluster(t, false, nil)
	cl.policy.Spec.Claims = []edgecertv1alpha1.HostClaim{{Namespaces: []string{nsA, nsB}, Domains: []string{"shared-" + nsA + ".example.test"}}}
	if err := c().Update(ctx, cl.policy); err != nil {
		t.Fatal(err)
	}
	host := "shop.shared-" + nsA + ".example.test"
	a := newGS(t, nsA, "shop", httpSpec(80, host))
	a = waitReady(t, a, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	b := newGS(t, nsB, "shop", httpSpec(80, "*.shared-"+nsA+".example.test"))
	b = waitReady(t, b, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostConflict)
	if want := fmt.Sprintf("host *.shared-%s.example.test on port 80 overlaps %s of GatewayService %s/shop, which is already in the Gateway", nsA, host, nsA); readyMessage(b) != want {
		t.Errorf("message = %q, want %q", readyMessage(b), want)
	}
	if !meta.IsStatusConditionTrue(b.Status.Conditions, edgecertv1alpha1.StalledCondition) {
		t.Error("the refused GatewayService is not Stalled")
	}
	servers, owners := cl.servers(t)
	if _, ok := servers["http-shop-"+nsB]; ok {
		t.Error("the newer server was written")
	}
	wantA := map[string]any{
		"port":  map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http-shop-" + nsA},
		"hosts": []any{nsA + "/" + host},
	}
	if diff := cmp.Diff(wantA, servers["http-shop-"+nsA]); diff != "" {
		t.Errorf("the older server (-want +got):\n%s", diff)
	}
	if len(owners) != 1 {
		t.Errorf("owners = %v, want only the older", owners)
	}

	// A spec change of the refused one that still overlaps changes
	// nothing in the Gateway.
	before := cl.gateway(t).GetResourceVersion()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c().Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return err
		}
		b.Spec.Hosts = []string{host, "other.shared-" + nsA + ".example.test"}
		return c().Update(ctx, b)
	}); err != nil {
		t.Fatal(err)
	}
	b = waitReady(t, b, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostConflict)
	if after := cl.gateway(t).GetResourceVersion(); after != before {
		t.Errorf("the Gateway was written (%s -> %s) for a refused GatewayService", before, after)
	}

	deleteAndWait(t, a)
	b = waitReady(t, b, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	servers, owners = cl.servers(t)
	if _, ok := servers["http-shop-"+nsA]; ok {
		t.Error("the deleted GatewayService's server is still there")
	}
	wantB := map[string]any{
		"port":  map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http-shop-" + nsB},
		"hosts": []any{nsB + "/" + host, nsB + "/other.shared-" + nsA + ".example.test"},
	}
	if diff := cmp.Diff(wantB, servers["http-shop-"+nsB]); diff != "" {
		t.Errorf("the newer server after the older went (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(gateway.Owners{"http-shop-" + nsB: nsB + "/shop"}, owners); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}
	cl.checkHandWritten(t)
}

// TestRefusedUpdateKeepsTheCurrentServer: a GatewayService in the Gateway
// that changes to a host another one holds is refused and its current
// server stays as it was; the other server is not touched.
func TestRefusedUpdateKeepsTheCurrentServer(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "tenant", nil)
	cl := newCluster(t, false, nil, ns)
	x := newGS(t, ns, "x", httpSpec(80, "x."+ns+".example.test"))
	y := newGS(t, ns, "y", httpSpec(80, "y."+ns+".example.test"))
	waitReady(t, x, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	y = waitReady(t, y, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	before, _ := cl.servers(t)
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c().Get(ctx, client.ObjectKeyFromObject(y), y); err != nil {
			return err
		}
		y.Spec.Hosts = []string{"y." + ns + ".example.test", "x." + ns + ".example.test"}
		return c().Update(ctx, y)
	}); err != nil {
		t.Fatal(err)
	}
	y = waitReady(t, y, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostConflict)
	after, _ := cl.servers(t)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("a refused update changed the Gateway (-before +after):\n%s", diff)
	}
	if y.Status.PortName == "" || y.Status.Gateway == "" {
		t.Errorf("status lost the server that is still in place: %+v", y.Status)
	}
}

// TestUnclaimedHostIsRefused: a host no claim covers is refused and
// nothing is written.
func TestUnclaimedHostIsRefused(t *testing.T) {
	ns := newNamespace(t, "tenant", nil)
	other := newNamespace(t, "other", nil)
	cl := newCluster(t, false, nil, ns)
	before := cl.gateway(t).GetResourceVersion()
	gs := newGS(t, ns, "steal", httpSpec(80, "www."+other+".example.test"))
	gs = waitReady(t, gs, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostNotClaimed)
	if want := fmt.Sprintf("namespace %s has no claim on www.%s.example.test in a GatewayPolicy with an ingress Gateway", ns, other); readyMessage(gs) != want {
		t.Errorf("message = %q, want %q", readyMessage(gs), want)
	}
	if !meta.IsStatusConditionTrue(gs.Status.Conditions, edgecertv1alpha1.StalledCondition) {
		t.Error("not Stalled")
	}
	if after := cl.gateway(t).GetResourceVersion(); after != before {
		t.Errorf("the Gateway was written (%s -> %s)", before, after)
	}

	// Claimed by label: the same host becomes servable when the policy
	// gives it to namespaces with a label the namespace gets.
	ctx := context.Background()
	cl.policy.Spec.Claims = append(cl.policy.Spec.Claims, edgecertv1alpha1.HostClaim{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"claims-" + other: "yes"}}, Domains: []string{other + ".example.test"}})
	if err := c().Update(ctx, cl.policy); err != nil {
		t.Fatal(err)
	}
	var n corev1.Namespace
	if err := c().Get(ctx, types.NamespacedName{Name: ns}, &n); err != nil {
		t.Fatal(err)
	}
	n.Labels["claims-"+other] = "yes"
	if err := c().Update(ctx, &n); err != nil {
		t.Fatal(err)
	}
	waitReady(t, gs, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)

	// Revoking the claim removes the server.
	n.Labels["claims-"+other] = "no"
	if err := c().Update(ctx, &n); err != nil {
		t.Fatal(err)
	}
	waitReady(t, gs, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostNotClaimed)
	servers, _ := cl.servers(t)
	if _, ok := servers["http-steal-"+ns]; ok {
		t.Error("the server stayed after its claim was revoked")
	}
	cl.checkHandWritten(t)
}

// TestMissingOrInvalidSecretRefIsRefused: no server and no copy for a
// missing Secret, a certificate that does not cover the hosts, a key that
// does not match; the server comes once the Secret is fixed, and the copy
// follows the Secret.
func TestMissingOrInvalidSecretRefIsRefused(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "tenant", nil)
	cl := newCluster(t, false, nil, ns)
	host := "shop." + ns + ".example.test"
	before := cl.gateway(t).GetResourceVersion()

	missing := newGS(t, ns, "missing", secretRefSpec("nope", host))
	got := waitReady(t, missing, metav1.ConditionFalse, edgecertv1alpha1.ReasonSecretNotFound)
	if want := fmt.Sprintf("Secret %s/nope does not exist", ns); readyMessage(got) != want {
		t.Errorf("message = %q, want %q", readyMessage(got), want)
	}

	if err := c().Create(ctx, tlsSecret(t, ns, "wrong-host", false, "other."+ns+".example.test")); err != nil {
		t.Fatal(err)
	}
	wrongHost := newGS(t, ns, "wrong-host", secretRefSpec("wrong-host", host))
	got = waitReady(t, wrongHost, metav1.ConditionFalse, edgecertv1alpha1.ReasonSecretInvalid)
	if !strings.Contains(readyMessage(got), "does not cover "+host) {
		t.Errorf("message = %q, want it to name the uncovered host", readyMessage(got))
	}

	mismatched := tlsSecret(t, ns, "mismatched", false, host)
	_, otherKey := testenv.SelfSigned(time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), host)
	mismatched.Data[corev1.TLSPrivateKeyKey] = otherKey
	if err := c().Create(ctx, mismatched); err != nil {
		t.Fatal(err)
	}
	badKey := newGS(t, ns, "bad-key", secretRefSpec("mismatched", "key."+ns+".example.test"))
	got = waitReady(t, badKey, metav1.ConditionFalse, edgecertv1alpha1.ReasonSecretInvalid)
	if !strings.Contains(readyMessage(got), "private key does not match") {
		t.Errorf("message = %q, want the key mismatch", readyMessage(got))
	}

	if after := cl.gateway(t).GetResourceVersion(); after != before {
		t.Errorf("the Gateway was written (%s -> %s) for refused Secrets", before, after)
	}
	var copies corev1.SecretList
	if err := c().List(ctx, &copies, client.InNamespace(cl.gwNamespace)); err != nil {
		t.Fatal(err)
	}
	if len(copies.Items) != 0 {
		t.Errorf("Secrets were copied for refused GatewayServices: %d", len(copies.Items))
	}

	// Creating the missing Secret brings the server; the copy follows a
	// change of the Secret.
	good := tlsSecret(t, ns, "nope", false, host)
	if err := c().Create(ctx, good); err != nil {
		t.Fatal(err)
	}
	got = waitReady(t, missing, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	certPEM, keyPEM := testenv.SelfSigned(time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), host)
	good.Data = map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}
	if err := c().Update(ctx, good); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "copy follows the Secret", func() (bool, string) {
		var copied corev1.Secret
		if err := c().Get(ctx, types.NamespacedName{Namespace: cl.gwNamespace, Name: got.Status.CredentialName}, &copied); err != nil {
			return false, err.Error()
		}
		return string(copied.Data[corev1.TLSCertKey]) == string(certPEM), "old certificate"
	})
	cl.checkHandWritten(t)
}

// TestDeleteRemovesExactlyItsServer: deleting a GatewayService removes its
// server and its Secret copy, and nothing else.
func TestDeleteRemovesExactlyItsServer(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "tenant", nil)
	cl := newCluster(t, false, nil, ns)
	if err := c().Create(ctx, tlsSecret(t, ns, "tls", false, "*."+ns+".example.test")); err != nil {
		t.Fatal(err)
	}
	var objs []*edgecertv1alpha1.GatewayService
	for _, name := range []string{"one", "two", "three"} {
		objs = append(objs, newGS(t, ns, name, secretRefSpec("tls", name+"."+ns+".example.test")))
	}
	for i, gs := range objs {
		objs[i] = waitReady(t, gs, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	}
	before, beforeOwners := cl.servers(t)
	deleteAndWait(t, objs[1])
	after, afterOwners := cl.servers(t)
	delete(before, objs[1].Status.PortName)
	delete(beforeOwners, objs[1].Status.PortName)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("servers other than the deleted one changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(beforeOwners, afterOwners); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}
	var copied corev1.Secret
	err := c().Get(ctx, types.NamespacedName{Namespace: cl.gwNamespace, Name: objs[1].Status.CredentialName}, &copied)
	if !apierrors.IsNotFound(err) {
		t.Errorf("the deleted GatewayService's Secret copy: err = %v, want NotFound", err)
	}
	if err := c().Get(ctx, types.NamespacedName{Namespace: cl.gwNamespace, Name: objs[0].Status.CredentialName}, &copied); err != nil {
		t.Errorf("another GatewayService's copy: %v", err)
	}
}

// TestHandWrittenServersSurviveEditsAndEdgecertRepairsItsOwn: the platform
// team edits its server while tenants come and go; someone deletes a
// tenant server by hand and edgecert writes it back.
func TestHandWrittenServersSurviveEditsAndEdgecertRepairsItsOwn(t *testing.T) {
	ns := newNamespace(t, "tenant", nil)
	cl := newCluster(t, false, nil, ns)
	gs := newGS(t, ns, "web", httpSpec(80, "web."+ns+".example.test"))
	gs = waitReady(t, gs, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)

	// The platform team edits its own server.
	cl.handWritten["hosts"] = []any{"*/status.platform.test", "*/health.platform.test"}
	editGateway(t, cl, func(servers []any) []any {
		for i, s := range servers {
			if gateway.RawPortName(s) == "https-platform" {
				servers[i] = cl.handWritten
			}
		}
		return servers
	})
	// Someone removes the tenant's server by hand.
	editGateway(t, cl, func(servers []any) []any {
		var out []any
		for _, s := range servers {
			if gateway.RawPortName(s) != gs.Status.PortName {
				out = append(out, s)
			}
		}
		return out
	})
	want := map[string]any{
		"port":  map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http-web-" + ns},
		"hosts": []any{ns + "/web." + ns + ".example.test"},
	}
	testenv.Eventually(t, "edgecert writes its server back", func() (bool, string) {
		servers, _ := cl.servers(t)
		return cmp.Equal(servers["http-web-"+ns], want), fmt.Sprint(servers["http-web-"+ns])
	})
	cl.checkHandWritten(t)
	deleteAndWait(t, gs)
	servers, owners := cl.servers(t)
	if len(servers) != 1 || len(owners) != 0 {
		t.Errorf("after the last tenant went: servers %v, owners %v", servers, owners)
	}
	cl.checkHandWritten(t)
}

func editGateway(t testing.TB, cl *cluster, edit func([]any) []any) {
	t.Helper()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		gw := cl.gateway(t)
		servers, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
		if err := unstructured.SetNestedSlice(gw.Object, edit(servers), "spec", "servers"); err != nil {
			return err
		}
		return c().Update(context.Background(), gw)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestGatewayCreatedWhenThePolicyHasASelector: without the Gateway, a
// policy with a selector lets edgecert create it; it goes with its last
// server. Without a selector, GatewayServices wait and then land.
func TestGatewayCreatedWhenThePolicyHasASelector(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "tenant", nil)
	cl := newCluster(t, true, map[string]string{"istio": "edge"}, ns)
	gs := newGS(t, ns, "web", httpSpec(80, "web."+ns+".example.test"))
	gs = waitReady(t, gs, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	gw := cl.gateway(t)
	if gw.GetLabels()["app.kubernetes.io/managed-by"] != "edgecert" {
		t.Errorf("created Gateway labels = %v", gw.GetLabels())
	}
	if sel, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector"); !cmp.Equal(sel, map[string]string{"istio": "edge"}) {
		t.Errorf("selector = %v", sel)
	}
	deleteAndWait(t, gs)
	testenv.Eventually(t, "the created Gateway goes with its last server", func() (bool, string) {
		err := c().Get(ctx, types.NamespacedName{Namespace: cl.gwNamespace, Name: cl.gwName}, newGatewayObject(cl.gwNamespace, cl.gwName))
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})

	// No selector: wait for the platform team's Gateway.
	cl.policy.Spec.Gateways[0].Selector = nil
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c().Get(ctx, client.ObjectKeyFromObject(cl.policy), cl.policy); err != nil {
			return err
		}
		cl.policy.Spec.Gateways[0].Selector = nil
		return c().Update(ctx, cl.policy)
	}); err != nil {
		t.Fatal(err)
	}
	waiting := newGS(t, ns, "waiting", httpSpec(80, "wait."+ns+".example.test"))
	got := waitReady(t, waiting, metav1.ConditionFalse, edgecertv1alpha1.ReasonGatewayNotFound)
	if !meta.IsStatusConditionTrue(got.Status.Conditions, edgecertv1alpha1.ReconcilingCondition) {
		t.Error("waiting for the Gateway is not Reconciling")
	}
	gwObj := newGatewayObject(cl.gwNamespace, cl.gwName)
	gwObj.Object["spec"] = map[string]any{"selector": map[string]any{"istio": cl.gwNamespace}, "servers": []any{cl.handWritten}}
	if err := c().Create(ctx, gwObj); err != nil {
		t.Fatal(err)
	}
	waitReady(t, waiting, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	cl.checkHandWritten(t)
}

// TestFiftyTenantsConvergeWithoutLostUpdates: fifty namespaces create
// their GatewayServices at once, on one Gateway, while the platform team
// edits its own server. Every server lands exactly once and the platform
// team's edit survives.
func TestFiftyTenantsConvergeWithoutLostUpdates(t *testing.T) {
	const tenants = 50
	ctx := context.Background()
	namespaces := make([]string, tenants)
	for i := range namespaces {
		namespaces[i] = newNamespace(t, fmt.Sprintf("t%02d", i), nil)
	}
	cl := newCluster(t, false, nil, namespaces...)
	for _, ns := range namespaces {
		if err := c().Create(ctx, tlsSecret(t, ns, "tls", false, "*."+ns+".example.test")); err != nil {
			t.Fatal(err)
		}
	}
	objs := make([]*edgecertv1alpha1.GatewayService, tenants)
	var wg sync.WaitGroup
	errs := make(chan error, tenants+1)
	for i, ns := range namespaces {
		wg.Go(func() {
			spec := httpSpec(80, "app."+ns+".example.test")
			if i%2 == 1 {
				spec = secretRefSpec("tls", "app."+ns+".example.test")
			}
			gs := &edgecertv1alpha1.GatewayService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: spec}
			if err := c().Create(ctx, gs); err != nil {
				errs <- err
				return
			}
			objs[i] = gs
		})
	}
	wg.Go(func() {
		cl.handWritten["hosts"] = []any{"*/status.platform.test", "*/edited.platform.test"}
		errs <- retry.RetryOnConflict(retry.DefaultRetry, func() error {
			gw := cl.gateway(t)
			servers, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
			for i, s := range servers {
				if gateway.RawPortName(s) == "https-platform" {
					servers[i] = cl.handWritten
				}
			}
			_ = unstructured.SetNestedSlice(gw.Object, servers, "spec", "servers")
			return c().Update(ctx, gw)
		})
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, gs := range objs {
		objs[i] = waitReady(t, gs, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	}
	servers, owners := cl.servers(t)
	if len(servers) != tenants+1 || len(owners) != tenants {
		t.Errorf("%d servers, %d owners; want %d and %d", len(servers), len(owners), tenants+1, tenants)
	}
	for i, ns := range namespaces {
		// Even tenants asked for HTTP on 80, odd ones for HTTPS on 443
		// from their Secret "tls", copied as "<namespace>.app".
		portName := "http-app-" + ns
		want := map[string]any{
			"port":  map[string]any{"number": int64(80), "protocol": "HTTP", "name": portName},
			"hosts": []any{ns + "/app." + ns + ".example.test"},
		}
		if i%2 == 1 {
			portName = "https-app-" + ns
			want = map[string]any{
				"port":  map[string]any{"number": int64(443), "protocol": "HTTPS", "name": portName},
				"hosts": []any{ns + "/app." + ns + ".example.test"},
				"tls":   map[string]any{"mode": "SIMPLE", "credentialName": ns + ".app"},
			}
		}
		if diff := cmp.Diff(want, servers[portName]); diff != "" {
			t.Errorf("%s/app (-want +got):\n%s", ns, diff)
		}
		if owners[portName] != ns+"/app" {
			t.Errorf("owner of %s = %q", portName, owners[portName])
		}
	}
	cl.checkHandWritten(t)
}

// TestCRDRefusesBadSpecs: the API server refuses what istiod would refuse.
func TestCRDRefusesBadSpecs(t *testing.T) {
	ns := newNamespace(t, "tenant", nil)
	ref := &edgecertv1alpha1.LocalSecretReference{Name: "x"}
	for name, tc := range map[string]struct {
		spec edgecertv1alpha1.GatewayServiceSpec
		want string
	}{
		"tls on http":          {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"a.example.test"}, Port: 80, Protocol: "HTTP", TLS: &edgecertv1alpha1.GatewayServiceTLS{SecretRef: ref}}, want: "tls is required for HTTPS and TLS"},
		"https without tls":    {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"a.example.test"}, Port: 443, Protocol: "HTTPS"}, want: "tls is required for HTTPS and TLS"},
		"redirect on https":    {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"a.example.test"}, Port: 443, Protocol: "HTTPS", HTTPSRedirect: true, TLS: &edgecertv1alpha1.GatewayServiceTLS{SecretRef: ref}}, want: "httpsRedirect is only allowed"},
		"two sources":          {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"a.example.test"}, Port: 443, Protocol: "HTTPS", TLS: &edgecertv1alpha1.GatewayServiceTLS{SecretRef: ref, IssuerRef: &edgecertv1alpha1.IssuerReference{Name: "le"}}}, want: "exactly one of"},
		"no source":            {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"a.example.test"}, Port: 443, Protocol: "HTTPS", TLS: &edgecertv1alpha1.GatewayServiceTLS{}}, want: "exactly one of"},
		"passthrough + source": {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"a.example.test"}, Port: 443, Protocol: "TLS", TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "PASSTHROUGH", SecretRef: ref}}, want: "PASSTHROUGH takes none"},
		"mutual issuer no ca":  {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"a.example.test"}, Port: 443, Protocol: "HTTPS", TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "MUTUAL", IssuerRef: &edgecertv1alpha1.IssuerReference{Name: "le"}}}, want: "needs clientCASecretRef"},
		"mutual path no ca":    {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"a.example.test"}, Port: 443, Protocol: "HTTPS", TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "MUTUAL", SecretPath: &edgecertv1alpha1.TLSSecretPath{ServerCertificate: "/c", PrivateKey: "/k"}}}, want: "caCertificates"},
		"min above max":        {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"a.example.test"}, Port: 443, Protocol: "HTTPS", TLS: &edgecertv1alpha1.GatewayServiceTLS{SecretRef: ref, MinProtocolVersion: "TLSV1_3", MaxProtocolVersion: "TLSV1_2"}}, want: "minProtocolVersion"},
		"upper-case host":      {spec: httpSpec(80, "A.example.test"), want: "spec.hosts"},
		"star host on http":    {spec: httpSpec(80, "*"), want: `host "*" is only allowed on TCP and TLS servers`},
		"star host by issuer":  {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"*"}, Port: 443, Protocol: "TLS", TLS: &edgecertv1alpha1.GatewayServiceTLS{IssuerRef: &edgecertv1alpha1.IssuerReference{Name: "le"}}}, want: `host "*" cannot have a certificate from issuerRef`},
		"star in a name":       {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"a*.example.test"}, Port: 9000, Protocol: "TCP"}, want: "spec.hosts"},
		"port 0":               {spec: httpSpec(0, "a.example.test"), want: "spec.port"},
		"unknown protocol":     {spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"a.example.test"}, Port: 80, Protocol: "QUIC"}, want: "spec.protocol"},
	} {
		gs := &edgecertv1alpha1.GatewayService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bad"}, Spec: tc.spec}
		err := c().Create(context.Background(), gs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, tc.want)
		}
		if err == nil {
			_ = c().Delete(context.Background(), gs)
		}
	}
}

// TestDeletionWaitsForNobody: edgecert puts no finalizer on a
// GatewayService, so the API server deletes it at once (its namespace
// too, even with edgecert down or uninstalled), and edgecert then removes
// its server and its copy. A GatewayService an older edgecert gave the
// finalizer is released when deleted, after the same removal.
func TestDeletionWaitsForNobody(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "tenant", nil)
	cl := newCluster(t, false, nil, ns)
	if err := c().Create(ctx, tlsSecret(t, ns, "tls", false, "*."+ns+".example.test")); err != nil {
		t.Fatal(err)
	}
	gs := newGS(t, ns, "web", secretRefSpec("tls", "web."+ns+".example.test"))
	gs = waitReady(t, gs, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	if len(gs.Finalizers) != 0 {
		t.Errorf("finalizers = %v, want none", gs.Finalizers)
	}
	if err := c().Delete(ctx, gs); err != nil {
		t.Fatal(err)
	}
	// No finalizer: gone at once, not Terminating.
	if err := c().Get(ctx, client.ObjectKeyFromObject(gs), gs); !apierrors.IsNotFound(err) {
		t.Errorf("right after delete: err = %v (deletionTimestamp %v), want NotFound", err, gs.DeletionTimestamp)
	}
	waitLeftNothing(t, ns, "web")
	servers, owners := cl.servers(t)
	if len(servers) != 1 || len(owners) != 0 {
		t.Errorf("servers %v, owners %v; want only the hand-written one", servers, owners)
	}

	// As an older edgecert left it: the finalizer set.
	old := &edgecertv1alpha1.GatewayService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "old", Finalizers: []string{gatewayservice.Finalizer}},
		Spec: secretRefSpec("tls", "old."+ns+".example.test")}
	if err := c().Create(ctx, old); err != nil {
		t.Fatal(err)
	}
	old = waitReady(t, old, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	deleteAndWait(t, old)
	cl.checkHandWritten(t)
}

// TestWhatADeletedGatewayServiceLeftIsRemoved: a server in the Gateway
// and a Secret copy whose GatewayService no longer exists (deleted while
// edgecert was down: at start the Gateway's and the copy's first events
// name it) are removed; a Secret labelled like a copy but not owned by a
// GatewayService stays.
func TestWhatADeletedGatewayServiceLeftIsRemoved(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "tenant", nil)
	cl := newCluster(t, false, nil, ns)
	gs := newGS(t, ns, "web", httpSpec(80, "web."+ns+".example.test"))
	waitReady(t, gs, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	want, wantOwners := cl.servers(t)

	labels := map[string]string{kube.ManagedByLabel: kube.ManagedByValue,
		gatewayservice.GatewayServiceNamespaceLabel: ns, gatewayservice.GatewayServiceNameLabel: "ghost"}
	orphan := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: cl.gwNamespace, Name: ns + ".ghost", Labels: labels,
		Annotations: map[string]string{kube.OwnerAnnotation: "GatewayService/" + ns + "/ghost/0b5e7f4e-1d5a-4c39-9a4e-3c1f0e2a7d11"}},
		Type: corev1.SecretTypeTLS, Data: tlsSecret(t, ns, "x", false, "ghost."+ns+".example.test").Data}
	lookalike := orphan.DeepCopy()
	lookalike.Name, lookalike.Annotations = ns+".ghost-lookalike", nil
	for _, s := range []*corev1.Secret{orphan, lookalike} {
		if err := c().Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	ghost := map[string]any{
		"port":  map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http-ghost-" + ns},
		"hosts": []any{ns + "/ghost." + ns + ".example.test"},
	}
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		gw := cl.gateway(t)
		servers, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
		if err := unstructured.SetNestedSlice(gw.Object, append(servers, ghost), "spec", "servers"); err != nil {
			return err
		}
		owners, err := gateway.ParseOwners(gw.GetAnnotations()[gateway.OwnersAnnotation])
		if err != nil {
			return err
		}
		owners["http-ghost-"+ns] = ns + "/ghost"
		ann := gw.GetAnnotations()
		ann[gateway.OwnersAnnotation] = owners.String()
		gw.SetAnnotations(ann)
		return c().Update(ctx, gw)
	}); err != nil {
		t.Fatal(err)
	}

	testenv.Eventually(t, "the orphan server and copy removed", func() (bool, string) {
		servers, owners := cl.servers(t)
		err := c().Get(ctx, client.ObjectKeyFromObject(orphan), &corev1.Secret{})
		return cmp.Equal(servers, want) && cmp.Equal(owners, wantOwners) && apierrors.IsNotFound(err),
			fmt.Sprintf("servers %v owners %v copy err %v", slices.Collect(maps.Keys(servers)), owners, err)
	})
	if err := c().Get(ctx, client.ObjectKeyFromObject(lookalike), &corev1.Secret{}); err != nil {
		t.Errorf("a Secret only labelled like a copy: %v, want it kept", err)
	}
	cl.checkHandWritten(t)
}

// TestCatchAllHostOnTCPAndTLS: "*" is accepted on TCP and TLS servers as
// Istio accepts it ("<namespace>/*" in the Gateway), only once a claim of
// the domain "*" gives it to the namespace, and it overlaps every host on
// its port: a hand-written server there refuses it, and an older "*"
// refuses a newer named host.
func TestCatchAllHostOnTCPAndTLS(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "tenant", nil)
	cl := newCluster(t, false, nil, ns)
	tcp := newGS(t, ns, "db", edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"*"}, Port: 9000, Protocol: "TCP"})
	tcp = waitReady(t, tcp, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostNotClaimed)
	if want := fmt.Sprintf("namespace %s has no claim on * in a GatewayPolicy with an ingress Gateway", ns); readyMessage(tcp) != want {
		t.Errorf("message = %q, want %q", readyMessage(tcp), want)
	}

	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c().Get(ctx, client.ObjectKeyFromObject(cl.policy), cl.policy); err != nil {
			return err
		}
		cl.policy.Spec.Claims = append(cl.policy.Spec.Claims, edgecertv1alpha1.HostClaim{Namespaces: []string{ns}, Domains: []string{"*"}})
		return c().Update(ctx, cl.policy)
	}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, tcp, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)

	// TLS passthrough on every SNI of port 443 overlaps the hand-written
	// HTTPS server there.
	passthrough := edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"*"}, Port: 443, Protocol: "TLS", TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "PASSTHROUGH"}}
	on443 := newGS(t, ns, "sni", passthrough)
	on443 = waitReady(t, on443, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostConflict)
	if want := `host * on port 443 overlaps status.platform.test of a server not managed by edgecert (port name "https-platform")`; readyMessage(on443) != want {
		t.Errorf("message = %q, want %q", readyMessage(on443), want)
	}

	// On a port of its own it goes in, and holds the port against a newer
	// named host.
	passthrough.Port = 8443
	all := newGS(t, ns, "all", passthrough)
	waitReady(t, all, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	named := newGS(t, ns, "named", edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"a." + ns + ".example.test"}, Port: 8443, Protocol: "TLS", TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "PASSTHROUGH"}})
	named = waitReady(t, named, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostConflict)
	if want := fmt.Sprintf("host a.%s.example.test on port 8443 overlaps * of GatewayService %s/all, which is already in the Gateway", ns, ns); readyMessage(named) != want {
		t.Errorf("message = %q, want %q", readyMessage(named), want)
	}

	servers, _ := cl.servers(t)
	want := map[string]map[string]any{
		"tcp-db-" + ns: {
			"port":  map[string]any{"number": int64(9000), "protocol": "TCP", "name": "tcp-db-" + ns},
			"hosts": []any{ns + "/*"},
		},
		"tls-all-" + ns: {
			"port":  map[string]any{"number": int64(8443), "protocol": "TLS", "name": "tls-all-" + ns},
			"hosts": []any{ns + "/*"},
			"tls":   map[string]any{"mode": "PASSTHROUGH"},
		},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, servers[name]); diff != "" {
			t.Errorf("server %s (-want +got):\n%s", name, diff)
		}
	}
	for _, refused := range []string{"tls-sni-" + ns, "tls-named-" + ns} {
		if _, ok := servers[refused]; ok {
			t.Errorf("refused server %s was written", refused)
		}
	}
	cl.checkHandWritten(t)
}

// TestOneEventPerChange: a new GatewayService whose Secret is copied gets
// one event that says all of it (server added, copy written), not one per
// step and a ServerReady on top; its removal gets one more.
func TestOneEventPerChange(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "tenant", nil)
	cl := newCluster(t, false, nil, ns)
	if err := c().Create(ctx, tlsSecret(t, ns, "web-tls", false, "web."+ns+".example.test")); err != nil {
		t.Fatal(err)
	}
	gs := newGS(t, ns, "web", secretRefSpec("web-tls", "web."+ns+".example.test"))
	waitReady(t, gs, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	deleteAndWait(t, gs)

	// The GatewayService is gone when its server is removed: that event
	// goes to the Gateway.
	want := []string{
		fmt.Sprintf("GatewayService/web ServerAdded: Added server https-web-%s to Gateway %s/public, reading Secret %s/%s.web (created from %s/web-tls)", ns, cl.gwNamespace, cl.gwNamespace, ns, ns),
		fmt.Sprintf("Gateway/public ServerRemoved: Removed the server of GatewayService %s/web, which was deleted", ns),
	}
	var got []string
	testenv.Eventually(t, "the GatewayService's and the Gateway's events", func() (bool, string) {
		var list eventsv1.EventList
		if err := c().List(ctx, &list); err != nil {
			return false, err.Error()
		}
		slices.SortFunc(list.Items, func(a, b eventsv1.Event) int { return a.EventTime.Compare(b.EventTime.Time) })
		got = got[:0]
		for _, e := range list.Items {
			if e.Regarding.Kind == "GatewayService" && e.Regarding.Namespace == ns || e.Regarding.Kind == "Gateway" && e.Regarding.Namespace == cl.gwNamespace {
				got = append(got, e.Regarding.Kind+"/"+e.Regarding.Name+" "+e.Reason+": "+e.Note)
			}
		}
		return slices.Contains(got, want[1]), strings.Join(got, "\n")
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
