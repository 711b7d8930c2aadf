package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoTellsTheStoryToItsEnd runs `make demo` as CI does, with a short
// -exit-after: every step is told, in order, and the TLS client verified
// the chain the gateway would serve against Pebble's root.
func TestDemoTellsTheStoryToItsEnd(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), options{exitAfter: time.Millisecond, logPath: filepath.Join(t.TempDir(), "demo.log"), out: &out})
	t.Logf("demo output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	at := -1
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`\[1/6\] Platform team: ClusterIssuer pebble .*, GatewayPolicy platform`),
		regexp.MustCompile(`\[2/6\] Tenant: GatewayService shop/web for https://www\.shop\.[a-z0-9.-]+ \(port 443`),
		regexp.MustCompile(`\[3/6\] edgecert: Certificate shop/web-gateway-tls issued by "Pebble Intermediate CA [0-9a-f]+"`),
		regexp.MustCompile(`\[4/6\] edgecert: server https-web-shop in Istio Gateway istio-system/public`),
		regexp.MustCompile(`credentialName: shop\.web`),
		regexp.MustCompile(`\[5/6\] edgecert: DNS record in BIND after`),
		regexp.MustCompile(`www\.shop\.[a-z0-9.-]+\. A 127\.0\.0\.2\n`),
		regexp.MustCompile(`a-www\.shop\.[a-z0-9.-]+\. TXT "heritage=external-dns,external-dns/owner=edgecert-demo,external-dns/resource=gatewayservice/shop/web"`),
		regexp.MustCompile(`\[6/6\] TLS: a client resolved www\.shop\.[a-z0-9.-]+ through BIND to 127\.0\.0\.2 and connected to a server holding the gateway's credential \(Secret istio-system/shop\.web\)`),
		regexp.MustCompile(`chain www\.shop\.[a-z0-9.-]+ <- Pebble Intermediate CA [0-9a-f]+ <- Pebble Root CA [0-9a-f]+: verified against Pebble's root`),
		regexp.MustCompile(`\$ edgecert status -A\n`),
		regexp.MustCompile(`shop +web-gateway-tls +www\.shop\.[a-z0-9.-]+ +ClusterIssuer/pebble +Ready`),
		regexp.MustCompile(`Stopped\.`),
	} {
		loc := want.FindStringIndex(text)
		if loc == nil || loc[0] < at {
			t.Fatalf("the demo's output lacks %q after what came before", want)
		}
		at = loc[0]
	}
	if strings.Contains(text, `"level"`) || strings.Contains(text, "INFO") {
		t.Error("controller logs reached the terminal; they belong in the log file")
	}
}
