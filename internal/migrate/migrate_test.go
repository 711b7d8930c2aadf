package migrate

import (
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

func ref(name, key string) cmmeta.SecretKeySelector {
	return cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: name}, Key: key}
}

// acmeIssuer is a Let's Encrypt issuer with copies of solvers (cases
// change their own).
func acmeIssuer(solvers ...cmacme.ACMEChallengeSolver) cmv1.IssuerSpec {
	for i := range solvers {
		solvers[i] = *solvers[i].DeepCopy()
	}
	return cmv1.IssuerSpec{IssuerConfig: cmv1.IssuerConfig{ACME: &cmacme.ACMEIssuer{
		Server: "https://acme-v02.api.letsencrypt.org/directory", Email: "ops@example.com",
		PrivateKey: ref("le-account", ""), Solvers: solvers,
	}}}
}

func TestConvertIssuers(t *testing.T) {
	class := "istio"
	rfc2136 := cmacme.ACMEChallengeSolver{
		Selector: &cmacme.CertificateDNSNameSelector{DNSZones: []string{"example.com"}, MatchLabels: map[string]string{"tier": "web"}},
		DNS01:    &cmacme.ACMEChallengeSolverDNS01{RFC2136: &cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: "10.0.0.53:53", TSIGKeyName: "acme.", TSIGAlgorithm: "HMACSHA256", TSIGSecret: ref("tsig", "secret")}},
	}
	wantRFC2136 := edgecertv1alpha1.ACMESolver{
		Selector: &edgecertv1alpha1.SolverSelector{DNSZones: []string{"example.com"}, MatchLabels: map[string]string{"tier": "web"}},
		DNS01:    &edgecertv1alpha1.DNS01Solver{RFC2136: &edgecertv1alpha1.RFC2136Provider{Nameserver: "10.0.0.53:53", TSIGKeyName: "acme.", TSIGAlgorithm: "HMACSHA256", TSIGSecretRef: edgecertv1alpha1.SecretKeySelector{Name: "tsig", Key: "secret"}}},
	}
	route53Keys := cmacme.ACMEChallengeSolver{DNS01: &cmacme.ACMEChallengeSolverDNS01{Route53: &cmacme.ACMEIssuerDNS01ProviderRoute53{
		Region: "eu-west-1", HostedZoneID: "Z123", SecretAccessKeyID: &cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "aws"}, Key: "id"}, SecretAccessKey: ref("aws", "secret")}}}
	wantRoute53Keys := edgecertv1alpha1.ACMESolver{DNS01: &edgecertv1alpha1.DNS01Solver{Route53: &edgecertv1alpha1.Route53Provider{
		Region: "eu-west-1", HostedZoneID: "Z123", AccessKeyIDSecretRef: &edgecertv1alpha1.SecretKeySelector{Name: "aws", Key: "id"}, SecretAccessKeySecretRef: &edgecertv1alpha1.SecretKeySelector{Name: "aws", Key: "secret"}}}}
	base := edgecertv1alpha1.ACMEIssuer{Server: "https://acme-v02.api.letsencrypt.org/directory", Email: "ops@example.com", PrivateKeySecretRef: edgecertv1alpha1.LocalSecretReference{Name: "le-account"}}
	with := func(mutate func(*edgecertv1alpha1.ACMEIssuer), solvers ...edgecertv1alpha1.ACMESolver) edgecertv1alpha1.IssuerSpec {
		a := base
		a.Solvers = solvers
		if mutate != nil {
			mutate(&a)
		}
		return edgecertv1alpha1.IssuerSpec{ACME: a}
	}

	for name, tc := range map[string]struct {
		in      cmv1.IssuerSpec
		cluster bool
		want    edgecertv1alpha1.IssuerSpec
		secrets []string
		entry   Entry
	}{
		"rfc2136":           {in: acmeIssuer(rfc2136), cluster: true, want: with(nil, wantRFC2136), secrets: []string{"le-account", "tsig"}, entry: Entry{Outcome: Converted}},
		"route53 with keys": {in: acmeIssuer(route53Keys), cluster: true, want: with(nil, wantRoute53Keys), secrets: []string{"aws", "le-account"}, entry: Entry{Outcome: Converted}},
		"route53 ambient, Issuer": {
			in:   acmeIssuer(cmacme.ACMEChallengeSolver{DNS01: &cmacme.ACMEChallengeSolverDNS01{Route53: &cmacme.ACMEIssuerDNS01ProviderRoute53{Region: "us-east-1"}}}),
			want: with(nil, edgecertv1alpha1.ACMESolver{DNS01: &edgecertv1alpha1.DNS01Solver{Route53: &edgecertv1alpha1.Route53Provider{Region: "us-east-1"}}}), secrets: []string{"le-account"},
			entry: Entry{Outcome: Partial, Notes: []string{"solvers[0].dns01.route53 without keys uses edgecert's own identity, which an Issuer may use only with --issuer-ambient-credentials"}},
		},
		"http01 ingress, EAB, profile, CA bundle": {
			in: func() cmv1.IssuerSpec {
				s := acmeIssuer(cmacme.ACMEChallengeSolver{HTTP01: &cmacme.ACMEChallengeSolverHTTP01{Ingress: &cmacme.ACMEChallengeSolverHTTP01Ingress{Class: &class}}})
				s.ACME.ExternalAccountBinding = &cmacme.ACMEExternalAccountBinding{KeyID: "kid-1", Key: ref("eab", "hmac")}
				s.ACME.Profile, s.ACME.CABundle = "shortlived", []byte("PEM")
				return s
			}(),
			cluster: true,
			want: with(func(a *edgecertv1alpha1.ACMEIssuer) {
				a.ExternalAccountBinding = &edgecertv1alpha1.ExternalAccountBinding{KeyID: "kid-1", KeySecretRef: edgecertv1alpha1.SecretKeySelector{Name: "eab", Key: "hmac"}}
				a.Profile, a.CABundle = "shortlived", []byte("PEM")
			}, edgecertv1alpha1.ACMESolver{HTTP01: &edgecertv1alpha1.HTTP01Solver{}}),
			secrets: []string{"eab", "le-account"},
			entry:   Entry{Outcome: Partial, Notes: []string{"solvers[0].http01.ingress: edgecert answers HTTP-01 from its own listener (route /.well-known/acme-challenge/ to its HTTP-01 Service), or through Istio with http01.istio (docs/issuer.md)"}},
		},
		"webhook solver left out, rfc2136 kept": {
			in:      acmeIssuer(cmacme.ACMEChallengeSolver{DNS01: &cmacme.ACMEChallengeSolverDNS01{Webhook: &cmacme.ACMEIssuerDNS01ProviderWebhook{GroupName: "acme.example.com", SolverName: "gandi"}}}, rfc2136),
			cluster: true, want: with(nil, wantRFC2136), secrets: []string{"le-account", "tsig"},
			entry: Entry{Outcome: Partial, Notes: []string{"solvers[0].dns01: webhook (acme.example.com/gandi) left out: edgecert's DNS-01 providers are rfc2136 and route53"}},
		},
		"only a cloudflare solver": {
			in:    acmeIssuer(cmacme.ACMEChallengeSolver{DNS01: &cmacme.ACMEChallengeSolverDNS01{Cloudflare: &cmacme.ACMEIssuerDNS01ProviderCloudflare{}}}),
			entry: Entry{Outcome: Skipped, Notes: []string{"no solver edgecert can use", "solvers[0].dns01: cloudflare left out: edgecert's DNS-01 providers are rfc2136 and route53"}},
		},
		"route53 role": {
			in:    acmeIssuer(cmacme.ACMEChallengeSolver{DNS01: &cmacme.ACMEChallengeSolverDNS01{Route53: &cmacme.ACMEIssuerDNS01ProviderRoute53{Role: "arn:aws:iam::1:role/dns"}}}),
			entry: Entry{Outcome: Skipped, Notes: []string{"no solver edgecert can use", "solvers[0].dns01.route53.role left out: edgecert does not assume roles; grant its own identity the rights, or give keys"}},
		},
		"route53 inline key id": {
			in:    acmeIssuer(cmacme.ACMEChallengeSolver{DNS01: &cmacme.ACMEChallengeSolverDNS01{Route53: &cmacme.ACMEIssuerDNS01ProviderRoute53{AccessKeyID: "AKIA", SecretAccessKey: ref("aws", "secret")}}}),
			entry: Entry{Outcome: Skipped, Notes: []string{"no solver edgecert can use", "solvers[0].dns01.route53.accessKeyID is inline: put it in a Secret and use accessKeyIDSecretRef"}},
		},
		"rfc2136 without tsig": {
			in:    acmeIssuer(cmacme.ACMEChallengeSolver{DNS01: &cmacme.ACMEChallengeSolverDNS01{RFC2136: &cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: "10.0.0.53"}}}),
			entry: Entry{Outcome: Skipped, Notes: []string{"no solver edgecert can use", "solvers[0].dns01.rfc2136 without TSIG left out: edgecert signs every update"}},
		},
		"skip tls verify": {
			in:    func() cmv1.IssuerSpec { s := acmeIssuer(rfc2136); s.ACME.SkipTLSVerify = true; return s }(),
			entry: Entry{Outcome: Skipped, Notes: []string{"skipTLSVerify: edgecert always verifies the CA; give its CA in caBundle"}},
		},
		"account key under another key": {
			in:    func() cmv1.IssuerSpec { s := acmeIssuer(rfc2136); s.ACME.PrivateKey.Key = "key.pem"; return s }(),
			entry: Entry{Outcome: Skipped, Notes: []string{`privateKeySecretRef.key "key.pem": edgecert reads the account key from tls.key`}},
		},
		"ca issuer":         {in: cmv1.IssuerSpec{IssuerConfig: cmv1.IssuerConfig{CA: &cmv1.CAIssuer{SecretName: "root"}}}, entry: Entry{Outcome: Skipped, Notes: []string{"a CA issuer signs with a key in the cluster; edgecert issues from ACME CAs only"}}},
		"vault issuer":      {in: cmv1.IssuerSpec{IssuerConfig: cmv1.IssuerConfig{Vault: &cmv1.VaultIssuer{Server: "https://vault"}}}, entry: Entry{Outcome: Skipped, Notes: []string{"a Vault issuer is not ACME; edgecert issues from ACME CAs only"}}},
		"venafi issuer":     {in: cmv1.IssuerSpec{IssuerConfig: cmv1.IssuerConfig{Venafi: &cmv1.VenafiIssuer{Zone: "z"}}}, entry: Entry{Outcome: Skipped, Notes: []string{"a Venafi issuer is not ACME; edgecert issues from ACME CAs only"}}},
		"selfsigned issuer": {in: cmv1.IssuerSpec{IssuerConfig: cmv1.IssuerConfig{SelfSigned: &cmv1.SelfSignedIssuer{}}}, entry: Entry{Outcome: Skipped, Notes: []string{"a selfSigned issuer is not ACME; edgecert issues from ACME CAs only"}}},
		"preferred chain and cname none": {
			in: func() cmv1.IssuerSpec {
				s := acmeIssuer(rfc2136)
				s.ACME.PreferredChain = "ISRG Root X1"
				s.ACME.Solvers[0].DNS01.CNAMEStrategy = cmacme.NoneStrategy
				return s
			}(),
			cluster: true, want: with(nil, wantRFC2136), secrets: []string{"le-account", "tsig"},
			entry: Entry{Outcome: Partial, Notes: []string{`preferredChain "ISRG Root X1" left out: edgecert stores the CA's default chain`, "solvers[0].dns01.cnameStrategy None: edgecert follows a CNAME on _acme-challenge whenever there is one"}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, secrets, entry := convertIssuer(tc.in, tc.cluster)
			if diff := cmp.Diff(tc.entry, entry); diff != "" {
				t.Errorf("entry (-want +got):\n%s", diff)
			}
			if tc.entry.Outcome == Skipped {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.secrets, secrets); diff != "" {
				t.Errorf("secrets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConvertCertificates(t *testing.T) {
	base := cmv1.CertificateSpec{SecretName: "web-tls", DNSNames: []string{"web.example.com"}, IssuerRef: cmmeta.IssuerReference{Name: "le", Kind: "ClusterIssuer", Group: "cert-manager.io"}}
	mod := func(f func(*cmv1.CertificateSpec)) cmv1.CertificateSpec {
		s := *base.DeepCopy()
		f(&s)
		return s
	}
	want := edgecertv1alpha1.CertificateSpec{SecretName: "web-tls", DNSNames: []string{"web.example.com"}, IssuerRef: edgecertv1alpha1.IssuerReference{Name: "le", Kind: "ClusterIssuer"}}
	wantMod := func(f func(*edgecertv1alpha1.CertificateSpec)) edgecertv1alpha1.CertificateSpec {
		s := *want.DeepCopy()
		f(&s)
		return s
	}
	for name, tc := range map[string]struct {
		in    cmv1.CertificateSpec
		want  edgecertv1alpha1.CertificateSpec
		entry Entry
	}{
		"plain": {in: base, want: want, entry: Entry{Outcome: Converted}},
		"issuer kind defaults to Issuer": {
			in: mod(func(s *cmv1.CertificateSpec) { s.IssuerRef = cmmeta.IssuerReference{Name: "local"} }),
			want: wantMod(func(s *edgecertv1alpha1.CertificateSpec) {
				s.IssuerRef = edgecertv1alpha1.IssuerReference{Name: "local", Kind: "Issuer"}
			}), entry: Entry{Outcome: Converted},
		},
		"key, renewBefore, secretTemplate": {
			in: mod(func(s *cmv1.CertificateSpec) {
				s.PrivateKey = &cmv1.CertificatePrivateKey{Algorithm: cmv1.RSAKeyAlgorithm, Size: 3072, RotationPolicy: cmv1.RotationPolicyNever}
				s.RenewBefore = &metav1.Duration{Duration: 720 * time.Hour}
				s.SecretTemplate = &cmv1.CertificateSecretTemplate{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"reflector": "yes"}}
			}),
			want: wantMod(func(s *edgecertv1alpha1.CertificateSpec) {
				s.PrivateKey = &edgecertv1alpha1.PrivateKeySpec{Algorithm: "RSA", Size: 3072, RotationPolicy: "Never"}
				s.RenewBefore = &metav1.Duration{Duration: 720 * time.Hour}
				s.SecretTemplate = &edgecertv1alpha1.SecretTemplate{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"reflector": "yes"}}
			}),
			entry: Entry{Outcome: Converted},
		},
		"common name outside dnsNames": {
			in:    mod(func(s *cmv1.CertificateSpec) { s.CommonName = "www.example.com" }),
			want:  wantMod(func(s *edgecertv1alpha1.CertificateSpec) { s.DNSNames = []string{"web.example.com", "www.example.com"} }),
			entry: Entry{Outcome: Partial, Notes: []string{`commonName "www.example.com" added to dnsNames: edgecert asks for DNS names only`}},
		},
		"left out fields": {
			in: mod(func(s *cmv1.CertificateSpec) {
				s.Duration = &metav1.Duration{Duration: 2160 * time.Hour}
				s.Usages = []cmv1.KeyUsage{cmv1.UsageServerAuth}
				s.RevisionHistoryLimit = new(int32)
				s.RenewBeforePercentage = new(int32)
				s.PrivateKey = &cmv1.CertificatePrivateKey{Encoding: cmv1.PKCS8}
			}),
			want: wantMod(func(s *edgecertv1alpha1.CertificateSpec) { s.PrivateKey = &edgecertv1alpha1.PrivateKeySpec{} }),
			entry: Entry{Outcome: Partial, Notes: []string{
				"duration (ACME CAs choose the lifetime) left out",
				"privateKey.encoding PKCS8 left out: edgecert writes the key as its type's PEM",
				"renewBeforePercentage left out: edgecert renews at two thirds of the lifetime, or in the CA's ARI window",
				"revisionHistoryLimit (edgecert keeps no CertificateRequests) left out",
				"usages left out",
			}},
		},
		"external issuer": {
			in:    mod(func(s *cmv1.CertificateSpec) { s.IssuerRef.Group = "awspca.cert-manager.io" }),
			entry: Entry{Outcome: Skipped, Notes: []string{`issuerRef.group "awspca.cert-manager.io" is an external issuer; edgecert issues from its own Issuers and ClusterIssuers`}},
		},
		"ip addresses": {
			in:    mod(func(s *cmv1.CertificateSpec) { s.IPAddresses = []string{"10.0.0.1"} }),
			entry: Entry{Outcome: Skipped, Notes: []string{"ipAddresses: edgecert issues server certificates for DNS names only"}},
		},
		"a CA": {
			in:    mod(func(s *cmv1.CertificateSpec) { s.IsCA = true }),
			entry: Entry{Outcome: Skipped, Notes: []string{"isCA: edgecert issues server certificates for DNS names only"}},
		},
		"ed25519": {
			in: mod(func(s *cmv1.CertificateSpec) {
				s.PrivateKey = &cmv1.CertificatePrivateKey{Algorithm: cmv1.Ed25519KeyAlgorithm}
			}),
			entry: Entry{Outcome: Skipped, Notes: []string{"privateKey.algorithm Ed25519: edgecert makes RSA and ECDSA keys"}},
		},
		"no dns names": {
			in:    mod(func(s *cmv1.CertificateSpec) { s.DNSNames = nil }),
			entry: Entry{Outcome: Skipped, Notes: []string{"no dnsNames: edgecert issues certificates for DNS names"}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, entry := convertCertificate(tc.in)
			if diff := cmp.Diff(tc.entry, entry); diff != "" {
				t.Errorf("entry (-want +got):\n%s", diff)
			}
			if tc.entry.Outcome == Skipped {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConvertCopiesClusterIssuerSecrets: a ClusterIssuer's Secrets move
// from cert-manager's namespace to edgecert's, once each; an Issuer's stay
// where they are.
func TestConvertCopiesClusterIssuerSecrets(t *testing.T) {
	rfc := cmacme.ACMEChallengeSolver{DNS01: &cmacme.ACMEChallengeSolverDNS01{RFC2136: &cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: "ns:53", TSIGKeyName: "k.", TSIGSecret: ref("tsig", "secret")}}}
	in := Input{
		ClusterIssuers: []cmv1.ClusterIssuer{{ObjectMeta: metav1.ObjectMeta{Name: "le"}, Spec: acmeIssuer(rfc)}, {ObjectMeta: metav1.ObjectMeta{Name: "le2"}, Spec: acmeIssuer(rfc)}},
		Issuers:        []cmv1.Issuer{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "local"}, Spec: acmeIssuer(rfc)}},
	}
	res := Convert(in, Options{CertManagerNamespace: "cert-manager", EdgecertNamespace: "edgecert-system"})
	want := []SecretCopy{
		{FromNamespace: "cert-manager", ToNamespace: "edgecert-system", Name: "le-account"},
		{FromNamespace: "cert-manager", ToNamespace: "edgecert-system", Name: "tsig"},
	}
	if diff := cmp.Diff(want, res.SecretCopies); diff != "" {
		t.Errorf("copies (-want +got):\n%s", diff)
	}
	if len(res.Objects) != 3 {
		t.Fatalf("%d objects, want 3", len(res.Objects))
	}
	if got := res.Objects[0].(*edgecertv1alpha1.ClusterIssuer).Labels[MigratedLabel]; got != "cert-manager" {
		t.Errorf("label %s = %q", MigratedLabel, got)
	}
	wantReport := "converted ClusterIssuer le\nconverted ClusterIssuer le2\nconverted Issuer shop/local\n" +
		"copy      Secret cert-manager/le-account -> edgecert-system/le-account\ncopy      Secret cert-manager/tsig -> edgecert-system/tsig\n"
	if diff := cmp.Diff(wantReport, res.String()); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}
