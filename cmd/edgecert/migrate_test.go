package main

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMigrateCertManagerFromFiles: objects on standard output, the report
// on standard error; kinds other than cert-manager's are skipped.
func TestMigrateCertManagerFromFiles(t *testing.T) {
	var stdout, stderr bytes.Buffer
	root := newRootCommand()
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs([]string{"migrate", "cert-manager", "-f", "testdata/cert-manager.yaml"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	wantOut := `---
apiVersion: edgecert.dev/v1alpha1
kind: ClusterIssuer
metadata:
  labels:
    edgecert.dev/migrated-from: cert-manager
  name: letsencrypt
spec:
  acme:
    email: ops@example.com
    privateKeySecretRef:
      name: letsencrypt-account
    server: https://acme-v02.api.letsencrypt.org/directory
    solvers:
    - dns01:
        rfc2136:
          nameserver: 10.0.0.53:53
          tsigAlgorithm: HMACSHA256
          tsigKeyName: acme.
          tsigSecretRef:
            key: secret
            name: tsig
      selector:
        dnsZones:
        - example.com
status: {}
---
apiVersion: edgecert.dev/v1alpha1
kind: Certificate
metadata:
  labels:
    edgecert.dev/migrated-from: cert-manager
  name: web
  namespace: shop
spec:
  dnsNames:
  - web.example.com
  issuerRef:
    kind: ClusterIssuer
    name: letsencrypt
  secretName: web-tls
status: {}
`
	if diff := cmp.Diff(wantOut, stdout.String()); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	wantErr := `partial   ClusterIssuer letsencrypt
          - solvers[0].dns01: webhook (acme.example.com/gandi) left out: edgecert's DNS-01 providers are rfc2136 and route53
partial   Certificate shop/web
          - duration (ACME CAs choose the lifetime) left out
copy      Secret cert-manager/letsencrypt-account -> edgecert-system/letsencrypt-account
copy      Secret cert-manager/tsig -> edgecert-system/tsig
`
	if diff := cmp.Diff(wantErr, stderr.String()); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}
