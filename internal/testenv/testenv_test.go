package testenv_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/crypto/acme"
	istionetworkingapi "istio.io/api/networking/v1"
	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/edgecert/edgecert/internal/testenv"
)

var bed *testenv.Bed

func TestMain(m *testing.M) {
	// Audit on, so TestAuditLogsWritesAndNoReads checks it end to end.
	testenv.Main(m, testenv.Options{ControlPlane: testenv.ControlPlaneOptions{Audit: true}}, &bed)
}

func TestControlPlaneIsARealAPIServer(t *testing.T) {
	dc, err := discovery.NewDiscoveryClientForConfig(bed.ControlPlane.Config)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.GitVersion, "v1.37.") {
		t.Fatalf("server version = %q, want the kube-apiserver built by make tools (v1.37.x)", v.GitVersion)
	}
}

func TestControlPlaneStoresAndReadsBackObjects(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	ns, err := bed.ControlPlane.CreateNamespace(ctx, "testenv")
	if err != nil {
		t.Fatal(err)
	}

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns}, Data: map[string]string{"k": "v"}}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	var got corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKeyFromObject(cm), &got); err != nil {
		t.Fatal(err)
	}
	if got.Data["k"] != "v" || got.UID == "" {
		t.Fatalf("read back %+v, want data k=v and a UID set by the server", got)
	}
}

func TestControlPlaneServesIstioAndGatewayAPIKinds(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	ns, err := bed.ControlPlane.CreateNamespace(ctx, "crds")
	if err != nil {
		t.Fatal(err)
	}
	gw := &istionetworkingv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "ingress", Namespace: ns},
		Spec: istionetworkingapi.Gateway{
			Selector: map[string]string{"istio": "ingressgateway"},
			Servers: []*istionetworkingapi.Server{{
				Port:  &istionetworkingapi.Port{Number: 443, Name: "https", Protocol: "HTTPS"},
				Hosts: []string{"app.example.test"},
				Tls:   &istionetworkingapi.ServerTLSSettings{Mode: istionetworkingapi.ServerTLSSettings_SIMPLE, CredentialName: "app-tls"},
			}},
		},
	}
	if err := c.Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	var gotGW istionetworkingv1.Gateway
	if err := c.Get(ctx, client.ObjectKeyFromObject(gw), &gotGW); err != nil {
		t.Fatal(err)
	}
	if n := len(gotGW.Spec.Servers); n != 1 || gotGW.Spec.Servers[0].Tls.GetCredentialName() != "app-tls" {
		t.Fatalf("Istio Gateway read back with servers %v", gotGW.Spec.Servers)
	}

	// The Istio CRD's CEL rules run in the API server: credentialName and
	// credentialNames together are refused.
	bad := gw.DeepCopy()
	bad.ObjectMeta = metav1.ObjectMeta{Name: "bad", Namespace: ns}
	bad.Spec.Servers[0].Tls.CredentialNames = []string{"other-tls"}
	err = c.Create(ctx, bad)
	if err == nil || !strings.Contains(err.Error(), "only one of credentialName or credentialNames can be set") {
		t.Fatalf("Istio Gateway with two credential sources: err = %v, want the CRD's CEL message", err)
	}

	gapi := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: "istio",
			Listeners:        []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}},
		},
	}
	if err := c.Create(ctx, gapi); err != nil {
		t.Fatal(err)
	}
}

func TestPebbleRegistersAnACMEAccount(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cl := &acme.Client{Key: key, DirectoryURL: bed.Pebble.DirectoryURL, HTTPClient: bed.Pebble.HTTPClient()}
	acct, err := cl.Register(ctx, &acme.Account{Contact: []string{"mailto:ops@example.test"}}, acme.AcceptTOS)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Status != acme.StatusValid || !strings.HasPrefix(acct.URI, "https://127.0.0.1:") {
		t.Fatalf("account = %+v, want a valid account at the Pebble URL", acct)
	}
	root, err := bed.Pebble.IssuanceRootPEM()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(root), "BEGIN CERTIFICATE") {
		t.Fatalf("issuance root is not PEM: %q", root)
	}
}

func TestBINDAcceptsSignedUpdatesAndRefusesUnsigned(t *testing.T) {
	zone := bed.BIND.Zones[0]
	name := "_acme-challenge.probe." + zone
	key := bed.BIND.Key

	signed := new(dns.Msg)
	signed.SetUpdate(zone)
	rr, err := dns.NewRR(fmt.Sprintf(`%s 60 IN TXT "signed-value"`, name))
	if err != nil {
		t.Fatal(err)
	}
	signed.Insert([]dns.RR{rr})
	signed.SetTsig(key.Name, key.Algorithm, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{key.Name: key.Secret}}
	resp, _, err := c.Exchange(signed, bed.BIND.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rcode != dns.RcodeSuccess {
		t.Fatalf("signed update: rcode %s, want NOERROR", dns.RcodeToString[resp.Rcode])
	}
	if got := queryTXT(t, name); len(got) != 1 || got[0] != "signed-value" {
		t.Fatalf("TXT %s = %v, want [signed-value]", name, got)
	}

	unsigned := new(dns.Msg)
	unsigned.SetUpdate(zone)
	rr2, _ := dns.NewRR(fmt.Sprintf(`%s 60 IN TXT "unsigned-value"`, name))
	unsigned.Insert([]dns.RR{rr2})
	resp, _, err = (&dns.Client{Net: "tcp"}).Exchange(unsigned, bed.BIND.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rcode != dns.RcodeRefused {
		t.Fatalf("unsigned update: rcode %s, want REFUSED", dns.RcodeToString[resp.Rcode])
	}
	if got := queryTXT(t, name); len(got) != 1 || got[0] != "signed-value" {
		t.Fatalf("after the refused update TXT %s = %v, want only [signed-value]", name, got)
	}
}

func TestBINDServesWildcardAndTransfersOnlyWithKey(t *testing.T) {
	zone := bed.BIND.Zones[0]
	m := new(dns.Msg)
	m.SetQuestion("anything."+zone, dns.TypeA)
	r, err := dns.Exchange(m, bed.BIND.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
		t.Fatalf("A anything.%s = %v, want 127.0.0.1", zone, r.Answer)
	}

	axfr := new(dns.Msg)
	axfr.SetAxfr(zone)
	tr := &dns.Transfer{}
	env, err := tr.In(axfr, bed.BIND.Addr)
	if err == nil {
		for e := range env {
			if e.Error == nil {
				t.Fatal("unsigned AXFR succeeded; it must need the TSIG key")
			}
		}
	}

	axfr = new(dns.Msg)
	axfr.SetAxfr(zone)
	axfr.SetTsig(bed.BIND.Key.Name, bed.BIND.Key.Algorithm, 300, time.Now().Unix())
	tr = &dns.Transfer{TsigSecret: map[string]string{bed.BIND.Key.Name: bed.BIND.Key.Secret}}
	env, err = tr.In(axfr, bed.BIND.Addr)
	if err != nil {
		t.Fatal(err)
	}
	records := 0
	for e := range env {
		if e.Error != nil {
			t.Fatal(e.Error)
		}
		records += len(e.RR)
	}
	if records < 4 {
		t.Fatalf("signed AXFR returned %d records, want the whole zone", records)
	}
}

func queryTXT(t *testing.T, name string) []string {
	t.Helper()
	txt, err := bed.BIND.TXT(name)
	if err != nil {
		t.Fatal(err)
	}
	return txt
}

// Every sample under config/samples is accepted by the real API server with
// edgecert's, Istio's and Gateway API's schemas (server-side dry run), so
// what the docs tell users to apply stays valid as the API changes.
func TestSamplesPassTheAPIServer(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	ns, err := bed.ControlPlane.CreateNamespace(ctx, "samples")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no samples found under config/samples")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
			docs := 0
			for {
				doc, err := reader.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				u := &unstructured.Unstructured{}
				if err := yaml.Unmarshal(doc, &u.Object); err != nil {
					t.Fatal(err)
				}
				if len(u.Object) == 0 {
					continue
				}
				docs++
				namespaced, err := c.IsObjectNamespaced(u)
				if err != nil {
					t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
				}
				if namespaced {
					u.SetNamespace(ns)
				}
				if err := c.Create(ctx, u, client.DryRunAll); err != nil {
					t.Errorf("%s %s rejected: %v", u.GetKind(), u.GetName(), err)
				}
			}
			if docs == 0 {
				t.Error("sample holds no object")
			}
		})
	}
}

// Benchmarks say where the time went: every process of the bed has a CPU
// time, and it grows when the process works.
func TestBedReportsCPUTimeOfEachProcess(t *testing.T) {
	before, err := bed.CPUSeconds()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kube-apiserver", "etcd", "pebble", "named"} {
		if _, ok := before[name]; !ok {
			t.Errorf("no CPU time for %s: %v", name, before)
		}
	}
	// Work for the API server: a few hundred reads.
	for range 300 {
		var ns corev1.NamespaceList
		if err := bed.ControlPlane.Client.List(context.Background(), &ns); err != nil {
			t.Fatal(err)
		}
	}
	after, err := bed.CPUSeconds()
	if err != nil {
		t.Fatal(err)
	}
	if after["kube-apiserver"] <= before["kube-apiserver"] {
		t.Errorf("kube-apiserver CPU %.2f s -> %.2f s after 300 lists, want more", before["kube-apiserver"], after["kube-apiserver"])
	}
}
