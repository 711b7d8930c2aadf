// Package migrate turns cert-manager's objects (cert-manager.io/v1
// ClusterIssuers, Issuers and Certificates, read with cert-manager's own
// API types) into edgecert's, and says, object by object, what was mapped,
// what was left out and why. It is a pure function: `edgecert migrate
// cert-manager` reads the objects (from the cluster or files), prints the
// result, and with --apply creates it.
//
// The account is kept: an edgecert issuer uses the same account key Secret
// (copied into edgecert's namespace for a ClusterIssuer), so the ACME
// account, its rate-limit overrides and its EAB binding survive. The
// certificates are kept too: edgecert takes over the Secrets cert-manager
// issued once their cert-manager Certificates are gone (docs/migration.md).
package migrate

import (
	"fmt"
	"slices"
	"strings"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// Input is what cert-manager has.
type Input struct {
	ClusterIssuers []cmv1.ClusterIssuer
	Issuers        []cmv1.Issuer
	Certificates   []cmv1.Certificate
}

// Options say where each tool keeps a ClusterIssuer's Secrets.
type Options struct {
	// CertManagerNamespace is cert-manager's cluster resource namespace
	// (its --cluster-resource-namespace; "cert-manager" by default).
	CertManagerNamespace string
	// EdgecertNamespace is edgecert's (its --namespace; "edgecert-system").
	EdgecertNamespace string
}

// Result is what edgecert will have, and the report.
type Result struct {
	// Objects are the edgecert ClusterIssuers, Issuers and Certificates,
	// in that order.
	Objects []client.Object
	// SecretCopies are the Secrets a ClusterIssuer reads (account key,
	// TSIG and AWS keys, EAB key) to copy from cert-manager's namespace
	// into edgecert's.
	SecretCopies []SecretCopy
	// Report has one entry per cert-manager object, in input order.
	Report []Entry
}

// SecretCopy is one Secret to copy.
type SecretCopy struct {
	FromNamespace, ToNamespace, Name string
}

// Outcome of one object.
const (
	// Converted: every field that matters was mapped.
	Converted = "converted"
	// Partial: converted; the notes say what was left out.
	Partial = "partial"
	// Skipped: cannot be mapped; the notes say why; the object is left alone.
	Skipped = "skipped"
)

// Entry is the report on one cert-manager object.
type Entry struct {
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name"`
	Outcome   string   `json:"outcome"`
	Notes     []string `json:"notes,omitempty"`
}

// Convert maps in to edgecert's objects.
func Convert(in Input, o Options) Result {
	if o.CertManagerNamespace == "" {
		o.CertManagerNamespace = "cert-manager"
	}
	if o.EdgecertNamespace == "" {
		o.EdgecertNamespace = "edgecert-system"
	}
	var res Result
	copies := map[SecretCopy]bool{}
	for i := range in.ClusterIssuers {
		ci := &in.ClusterIssuers[i]
		spec, secrets, e := convertIssuer(ci.Spec, true)
		e.Kind, e.Name = "ClusterIssuer", ci.Name
		res.Report = append(res.Report, e)
		if e.Outcome == Skipped {
			continue
		}
		res.Objects = append(res.Objects, &edgecertv1alpha1.ClusterIssuer{
			TypeMeta:   metav1.TypeMeta{APIVersion: edgecertv1alpha1.GroupVersion.String(), Kind: "ClusterIssuer"},
			ObjectMeta: metav1.ObjectMeta{Name: ci.Name, Labels: migratedLabels()},
			Spec:       spec,
		})
		if o.CertManagerNamespace != o.EdgecertNamespace {
			for _, s := range secrets {
				c := SecretCopy{FromNamespace: o.CertManagerNamespace, ToNamespace: o.EdgecertNamespace, Name: s}
				if !copies[c] {
					copies[c] = true
					res.SecretCopies = append(res.SecretCopies, c)
				}
			}
		}
	}
	for i := range in.Issuers {
		is := &in.Issuers[i]
		spec, _, e := convertIssuer(is.Spec, false)
		e.Kind, e.Namespace, e.Name = "Issuer", is.Namespace, is.Name
		res.Report = append(res.Report, e)
		if e.Outcome == Skipped {
			continue
		}
		res.Objects = append(res.Objects, &edgecertv1alpha1.Issuer{
			TypeMeta:   metav1.TypeMeta{APIVersion: edgecertv1alpha1.GroupVersion.String(), Kind: "Issuer"},
			ObjectMeta: metav1.ObjectMeta{Namespace: is.Namespace, Name: is.Name, Labels: migratedLabels()},
			Spec:       spec,
		})
	}
	for i := range in.Certificates {
		c := &in.Certificates[i]
		spec, e := convertCertificate(c.Spec)
		if owner := metav1.GetControllerOf(c); owner != nil && (owner.Kind == "Ingress" || owner.Kind == "Gateway") {
			// cert-manager's ingress-shim or gateway-shim made it;
			// edgecert's shims make theirs from the same annotations.
			e = Entry{Outcome: Skipped, Notes: []string{fmt.Sprintf("made by cert-manager from %s %s: edgecert's shim makes it from the same annotations (--ingress-shim-cert-manager-annotations for Ingresses; edgecert.dev/cluster-issuer or edgecert.dev/issuer on Gateways)", owner.Kind, owner.Name)}}
		}
		e.Kind, e.Namespace, e.Name = "Certificate", c.Namespace, c.Name
		res.Report = append(res.Report, e)
		if e.Outcome == Skipped {
			continue
		}
		res.Objects = append(res.Objects, &edgecertv1alpha1.Certificate{
			TypeMeta:   metav1.TypeMeta{APIVersion: edgecertv1alpha1.GroupVersion.String(), Kind: "Certificate"},
			ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: c.Name, Labels: migratedLabels()},
			Spec:       spec,
		})
	}
	return res
}

// MigratedLabel marks what `edgecert migrate cert-manager` made.
const MigratedLabel = "edgecert.dev/migrated-from"

func migratedLabels() map[string]string { return map[string]string{MigratedLabel: "cert-manager"} }

// entry collects notes; any refusal skips the object.
type entry struct {
	notes   []string
	refused []string
}

func (e *entry) note(format string, args ...any) {
	e.notes = append(e.notes, fmt.Sprintf(format, args...))
}
func (e *entry) refuse(format string, args ...any) {
	e.refused = append(e.refused, fmt.Sprintf(format, args...))
}

func (e *entry) done() Entry {
	switch {
	case len(e.refused) > 0:
		return Entry{Outcome: Skipped, Notes: append(e.refused, e.notes...)}
	case len(e.notes) > 0:
		return Entry{Outcome: Partial, Notes: e.notes}
	}
	return Entry{Outcome: Converted}
}

// convertIssuer maps an issuer's spec; secrets are the Secrets it reads
// (for a ClusterIssuer, to be copied).
func convertIssuer(spec cmv1.IssuerSpec, cluster bool) (edgecertv1alpha1.IssuerSpec, []string, Entry) {
	var e entry
	var out edgecertv1alpha1.IssuerSpec
	var secrets []string
	switch {
	case spec.CA != nil:
		e.refuse("a CA issuer signs with a key in the cluster; edgecert issues from ACME CAs only")
	case spec.Vault != nil:
		e.refuse("a Vault issuer is not ACME; edgecert issues from ACME CAs only")
	case spec.Venafi != nil:
		e.refuse("a Venafi issuer is not ACME; edgecert issues from ACME CAs only")
	case spec.SelfSigned != nil:
		e.refuse("a selfSigned issuer is not ACME; edgecert issues from ACME CAs only")
	case spec.ACME == nil:
		e.refuse("no acme section")
	}
	if len(e.refused) > 0 {
		return out, nil, e.done()
	}
	a := spec.ACME
	out.ACME = edgecertv1alpha1.ACMEIssuer{
		Server:              a.Server,
		Email:               a.Email,
		CABundle:            a.CABundle,
		Profile:             a.Profile,
		PrivateKeySecretRef: edgecertv1alpha1.LocalSecretReference{Name: a.PrivateKey.Name},
	}
	secrets = append(secrets, a.PrivateKey.Name)
	if a.PrivateKey.Key != "" && a.PrivateKey.Key != "tls.key" {
		e.refuse("privateKeySecretRef.key %q: edgecert reads the account key from tls.key", a.PrivateKey.Key)
	}
	if a.ExternalAccountBinding != nil {
		out.ACME.ExternalAccountBinding = &edgecertv1alpha1.ExternalAccountBinding{KeyID: a.ExternalAccountBinding.KeyID, KeySecretRef: selector(a.ExternalAccountBinding.Key)}
		secrets = append(secrets, a.ExternalAccountBinding.Key.Name)
	}
	if a.SkipTLSVerify {
		e.refuse("skipTLSVerify: edgecert always verifies the CA; give its CA in caBundle")
	}
	if a.PreferredChain != "" {
		e.note("preferredChain %q left out: edgecert stores the CA's default chain", a.PreferredChain)
	}
	if a.DisableAccountKeyGeneration {
		e.note("disableAccountKeyGeneration left out: edgecert uses the existing key in %s and makes one only when the Secret is missing", a.PrivateKey.Name)
	}
	if a.EnableDurationFeature {
		e.note("enableDurationFeature left out: edgecert does not ask ACME CAs for a duration")
	}
	for i, s := range a.Solvers {
		solver, used, ok := convertSolver(&e, i, s, cluster)
		if ok {
			out.ACME.Solvers = append(out.ACME.Solvers, solver)
			secrets = append(secrets, used...)
		}
	}
	if len(out.ACME.Solvers) == 0 && len(e.refused) == 0 {
		e.refuse("no solver edgecert can use")
	}
	slices.Sort(secrets)
	return out, slices.Compact(secrets), e.done()
}

// convertSolver maps solver i; ok is false when it cannot be (noted), and
// the issuer keeps its other solvers.
func convertSolver(e *entry, i int, s cmacme.ACMEChallengeSolver, cluster bool) (edgecertv1alpha1.ACMESolver, []string, bool) {
	var out edgecertv1alpha1.ACMESolver
	var secrets []string
	if sel := s.Selector; sel != nil {
		out.Selector = &edgecertv1alpha1.SolverSelector{DNSNames: sel.DNSNames, DNSZones: sel.DNSZones, MatchLabels: sel.MatchLabels}
	}
	switch {
	case s.HTTP01 != nil && s.HTTP01.Ingress != nil:
		out.HTTP01 = &edgecertv1alpha1.HTTP01Solver{}
		e.note("solvers[%d].http01.ingress: edgecert answers HTTP-01 from its own listener (route /.well-known/acme-challenge/ to its HTTP-01 Service), or through Istio with http01.istio (docs/issuer.md)", i)
	case s.HTTP01 != nil && s.HTTP01.GatewayHTTPRoute != nil:
		out.HTTP01 = &edgecertv1alpha1.HTTP01Solver{}
		e.note("solvers[%d].http01.gatewayHTTPRoute: edgecert answers HTTP-01 from its own listener (route /.well-known/acme-challenge/ to its HTTP-01 Service)", i)
	case s.HTTP01 != nil:
		e.note("solvers[%d]: http01 without ingress or gatewayHTTPRoute left out", i)
		return out, nil, false
	case s.DNS01 != nil:
		d := s.DNS01
		out.DNS01 = &edgecertv1alpha1.DNS01Solver{}
		if d.CNAMEStrategy == cmacme.NoneStrategy {
			e.note("solvers[%d].dns01.cnameStrategy None: edgecert follows a CNAME on _acme-challenge whenever there is one", i)
		}
		switch {
		case d.RFC2136 != nil:
			r := d.RFC2136
			if r.TSIGKeyName == "" || r.TSIGSecret.Name == "" {
				e.note("solvers[%d].dns01.rfc2136 without TSIG left out: edgecert signs every update", i)
				return out, nil, false
			}
			out.DNS01.RFC2136 = &edgecertv1alpha1.RFC2136Provider{Nameserver: r.Nameserver, TSIGKeyName: r.TSIGKeyName, TSIGAlgorithm: r.TSIGAlgorithm, TSIGSecretRef: selector(r.TSIGSecret)}
			if r.Protocol != "" && r.Protocol != "TCP" {
				e.note("solvers[%d].dns01.rfc2136.protocol %s left out: edgecert sends updates over TCP", i, r.Protocol)
			}
			secrets = append(secrets, r.TSIGSecret.Name)
		case d.Route53 != nil:
			r := d.Route53
			if r.Role != "" {
				e.note("solvers[%d].dns01.route53.role left out: edgecert does not assume roles; grant its own identity the rights, or give keys", i)
				return out, nil, false
			}
			if r.AccessKeyID != "" {
				e.note("solvers[%d].dns01.route53.accessKeyID is inline: put it in a Secret and use accessKeyIDSecretRef", i)
				return out, nil, false
			}
			out.DNS01.Route53 = &edgecertv1alpha1.Route53Provider{Region: r.Region, HostedZoneID: r.HostedZoneID}
			if r.SecretAccessKeyID != nil {
				sel := selector(*r.SecretAccessKeyID)
				out.DNS01.Route53.AccessKeyIDSecretRef = &sel
				secrets = append(secrets, sel.Name)
			}
			if r.SecretAccessKey.Name != "" {
				sel := selector(r.SecretAccessKey)
				out.DNS01.Route53.SecretAccessKeySecretRef = &sel
				secrets = append(secrets, sel.Name)
			}
			if out.DNS01.Route53.AccessKeyIDSecretRef == nil || out.DNS01.Route53.SecretAccessKeySecretRef == nil {
				if !cluster {
					e.note("solvers[%d].dns01.route53 without keys uses edgecert's own identity, which an Issuer may use only with --issuer-ambient-credentials", i)
				} else {
					e.note("solvers[%d].dns01.route53 without keys uses edgecert's own identity (IRSA, instance role)", i)
				}
				out.DNS01.Route53.AccessKeyIDSecretRef, out.DNS01.Route53.SecretAccessKeySecretRef = nil, nil
			}
		default:
			e.note("solvers[%d].dns01: %s left out: edgecert's DNS-01 providers are rfc2136 and route53", i, dnsProviderName(d))
			return out, nil, false
		}
	default:
		e.note("solvers[%d]: neither http01 nor dns01, left out", i)
		return out, nil, false
	}
	return out, secrets, true
}

func dnsProviderName(d *cmacme.ACMEChallengeSolverDNS01) string {
	switch {
	case d.Webhook != nil:
		return "webhook (" + d.Webhook.GroupName + "/" + d.Webhook.SolverName + ")"
	case d.Cloudflare != nil:
		return "cloudflare"
	case d.CloudDNS != nil:
		return "cloudDNS"
	case d.AzureDNS != nil:
		return "azureDNS"
	case d.DigitalOcean != nil:
		return "digitalocean"
	case d.AcmeDNS != nil:
		return "acmeDNS"
	case d.Akamai != nil:
		return "akamai"
	}
	return "no provider"
}

func selector(s cmmeta.SecretKeySelector) edgecertv1alpha1.SecretKeySelector {
	return edgecertv1alpha1.SecretKeySelector{Name: s.Name, Key: s.Key}
}

// convertCertificate maps a Certificate's spec.
func convertCertificate(spec cmv1.CertificateSpec) (edgecertv1alpha1.CertificateSpec, Entry) {
	var e entry
	out := edgecertv1alpha1.CertificateSpec{DNSNames: slices.Clone(spec.DNSNames), SecretName: spec.SecretName}
	switch g := spec.IssuerRef.Group; g {
	case "", "cert-manager.io":
	default:
		e.refuse("issuerRef.group %q is an external issuer; edgecert issues from its own Issuers and ClusterIssuers", g)
	}
	kind := spec.IssuerRef.Kind
	if kind == "" {
		kind = edgecertv1alpha1.IssuerKind
	}
	if kind != edgecertv1alpha1.IssuerKind && kind != edgecertv1alpha1.ClusterIssuerKind {
		e.refuse("issuerRef.kind %q: want Issuer or ClusterIssuer", kind)
	}
	out.IssuerRef = edgecertv1alpha1.IssuerReference{Name: spec.IssuerRef.Name, Kind: kind}
	if spec.CommonName != "" && !slices.Contains(out.DNSNames, spec.CommonName) {
		out.DNSNames = append(out.DNSNames, spec.CommonName)
		e.note("commonName %q added to dnsNames: edgecert asks for DNS names only", spec.CommonName)
	} else if spec.CommonName != "" {
		e.note("commonName left out: edgecert asks for DNS names only (%q is among them)", spec.CommonName)
	}
	if len(out.DNSNames) == 0 {
		e.refuse("no dnsNames: edgecert issues certificates for DNS names")
	}
	for field, set := range map[string]bool{
		"ipAddresses": len(spec.IPAddresses) > 0, "uris": len(spec.URIs) > 0, "emailAddresses": len(spec.EmailAddresses) > 0,
		"otherNames": len(spec.OtherNames) > 0, "isCA": spec.IsCA,
	} {
		if set {
			e.refuse("%s: edgecert issues server certificates for DNS names only", field)
		}
	}
	if p := spec.PrivateKey; p != nil {
		key := &edgecertv1alpha1.PrivateKeySpec{Size: p.Size, RotationPolicy: string(p.RotationPolicy)}
		switch p.Algorithm {
		case "":
		case cmv1.RSAKeyAlgorithm:
			key.Algorithm = "RSA"
		case cmv1.ECDSAKeyAlgorithm:
			key.Algorithm = "ECDSA"
		default:
			e.refuse("privateKey.algorithm %s: edgecert makes RSA and ECDSA keys", p.Algorithm)
		}
		if p.Encoding == cmv1.PKCS8 {
			e.note("privateKey.encoding PKCS8 left out: edgecert writes the key as its type's PEM")
		}
		out.PrivateKey = key
	}
	if spec.RenewBefore != nil {
		out.RenewBefore = spec.RenewBefore.DeepCopy()
	}
	if spec.RenewBeforePercentage != nil {
		e.note("renewBeforePercentage left out: edgecert renews at two thirds of the lifetime, or in the CA's ARI window")
	}
	if t := spec.SecretTemplate; t != nil {
		out.SecretTemplate = &edgecertv1alpha1.SecretTemplate{Labels: t.Labels, Annotations: t.Annotations}
	}
	for field, set := range map[string]bool{
		"duration (ACME CAs choose the lifetime)": spec.Duration != nil,
		"subject":                 spec.Subject != nil,
		"literalSubject":          spec.LiteralSubject != "",
		"usages":                  len(spec.Usages) > 0,
		"keystores":               spec.Keystores != nil,
		"additionalOutputFormats": len(spec.AdditionalOutputFormats) > 0,
		"revisionHistoryLimit (edgecert keeps no CertificateRequests)": spec.RevisionHistoryLimit != nil,
		"nameConstraints":       spec.NameConstraints != nil,
		"signatureAlgorithm":    spec.SignatureAlgorithm != "",
		"encodeUsagesInRequest": spec.EncodeUsagesInRequest != nil,
	} {
		if set {
			e.note("%s left out", field)
		}
	}
	slices.Sort(e.notes)
	slices.Sort(e.refused)
	return out, e.done()
}

// String is the report as text, one object per line and its notes
// indented under it.
func (r Result) String() string {
	var b strings.Builder
	for _, e := range r.Report {
		name := e.Name
		if e.Namespace != "" {
			name = e.Namespace + "/" + e.Name
		}
		fmt.Fprintf(&b, "%-9s %s %s\n", e.Outcome, e.Kind, name)
		for _, n := range e.Notes {
			fmt.Fprintf(&b, "          - %s\n", n)
		}
	}
	for _, c := range r.SecretCopies {
		fmt.Fprintf(&b, "copy      Secret %s/%s -> %s/%s\n", c.FromNamespace, c.Name, c.ToNamespace, c.Name)
	}
	return b.String()
}
