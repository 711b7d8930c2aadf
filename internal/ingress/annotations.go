package ingress

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// edgecert's own annotations on a source object.
const (
	// ClusterIssuerAnnotation names the ClusterIssuer to issue from.
	ClusterIssuerAnnotation = "edgecert.dev/cluster-issuer"
	// IssuerAnnotation names the Issuer, in the Certificate's namespace, to
	// issue from.
	IssuerAnnotation = "edgecert.dev/issuer"
	// RenewBeforeAnnotation sets spec.renewBefore (a Go duration, "720h").
	RenewBeforeAnnotation = "edgecert.dev/renew-before"
	// PrivateKeyAlgorithmAnnotation sets spec.privateKey.algorithm.
	PrivateKeyAlgorithmAnnotation = "edgecert.dev/private-key-algorithm"
	// PrivateKeySizeAnnotation sets spec.privateKey.size.
	PrivateKeySizeAnnotation = "edgecert.dev/private-key-size"
	// PrivateKeyRotationPolicyAnnotation sets spec.privateKey.rotationPolicy.
	PrivateKeyRotationPolicyAnnotation = "edgecert.dev/private-key-rotation-policy"
)

// cert-manager's annotations, honoured when Options.CertManagerAnnotations
// is on so that Ingresses written for cert-manager work unchanged.
const (
	// CMClusterIssuerAnnotation is cert-manager.io/cluster-issuer.
	CMClusterIssuerAnnotation = "cert-manager.io/cluster-issuer"
	// CMIssuerAnnotation is cert-manager.io/issuer.
	CMIssuerAnnotation = "cert-manager.io/issuer"
	// CMIssuerKindAnnotation qualifies cert-manager.io/issuer (Issuer or
	// ClusterIssuer).
	CMIssuerKindAnnotation = "cert-manager.io/issuer-kind"
	// CMIssuerGroupAnnotation names an external issuer's API group;
	// edgecert cannot use those.
	CMIssuerGroupAnnotation = "cert-manager.io/issuer-group"
	// CMRenewBeforeAnnotation is cert-manager.io/renew-before.
	CMRenewBeforeAnnotation = "cert-manager.io/renew-before"
	// CMPrivateKeyAlgorithmAnnotation is cert-manager.io/private-key-algorithm.
	CMPrivateKeyAlgorithmAnnotation = "cert-manager.io/private-key-algorithm"
	// CMPrivateKeySizeAnnotation is cert-manager.io/private-key-size.
	CMPrivateKeySizeAnnotation = "cert-manager.io/private-key-size"
	// CMPrivateKeyRotationPolicyAnnotation is
	// cert-manager.io/private-key-rotation-policy.
	CMPrivateKeyRotationPolicyAnnotation = "cert-manager.io/private-key-rotation-policy"
	// TLSACMEAnnotation ("true") asks for a certificate from the default
	// issuer, as kube-lego and cert-manager understood it.
	TLSACMEAnnotation = "kubernetes.io/tls-acme"
)

// Options are the shims' settings.
type Options struct {
	// CertManagerAnnotations honours cert-manager's annotations (issuer,
	// key and renewal ones) next to edgecert's, for a painless migration.
	// edgecert's own annotations win when both are present.
	CertManagerAnnotations bool
	// DefaultIssuer is used for "kubernetes.io/tls-acme: true" when
	// CertManagerAnnotations is on; nil ignores that annotation.
	DefaultIssuer *edgecertv1alpha1.IssuerReference
}

// IssuerFor returns the issuer an object's annotations ask for. ok is
// false when the object asks for none (no Certificate is wanted). An error
// means the annotations contradict themselves or name something edgecert
// cannot use; its text is stable, for an event.
func IssuerFor(annotations map[string]string, o Options) (ref edgecertv1alpha1.IssuerReference, ok bool, err error) {
	cluster, namespaced := annotations[ClusterIssuerAnnotation], annotations[IssuerAnnotation]
	switch {
	case cluster != "" && namespaced != "":
		return ref, false, fmt.Errorf("both %s and %s are set; keep one", ClusterIssuerAnnotation, IssuerAnnotation)
	case cluster != "":
		return edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.ClusterIssuerKind, Name: cluster}, true, nil
	case namespaced != "":
		return edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.IssuerKind, Name: namespaced}, true, nil
	}
	if !o.CertManagerAnnotations {
		return ref, false, nil
	}
	cluster, namespaced = annotations[CMClusterIssuerAnnotation], annotations[CMIssuerAnnotation]
	if cluster != "" || namespaced != "" {
		if g := annotations[CMIssuerGroupAnnotation]; g != "" && g != "cert-manager.io" && g != edgecertv1alpha1.GroupVersion.Group {
			return ref, false, fmt.Errorf("%s %q is an external issuer; edgecert issues only from its own Issuers and ClusterIssuers", CMIssuerGroupAnnotation, g)
		}
	}
	switch {
	case cluster != "" && namespaced != "":
		return ref, false, fmt.Errorf("both %s and %s are set; keep one", CMClusterIssuerAnnotation, CMIssuerAnnotation)
	case cluster != "":
		return edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.ClusterIssuerKind, Name: cluster}, true, nil
	case namespaced != "":
		kind := annotations[CMIssuerKindAnnotation]
		switch kind {
		case "", edgecertv1alpha1.IssuerKind:
			kind = edgecertv1alpha1.IssuerKind
		case edgecertv1alpha1.ClusterIssuerKind:
		default:
			return ref, false, fmt.Errorf("%s %q: want Issuer or ClusterIssuer", CMIssuerKindAnnotation, kind)
		}
		return edgecertv1alpha1.IssuerReference{Kind: kind, Name: namespaced}, true, nil
	}
	if annotations[TLSACMEAnnotation] == "true" && o.DefaultIssuer != nil {
		return *o.DefaultIssuer, true, nil
	}
	return ref, false, nil
}

// lookup returns edgecert's annotation, or cert-manager's when allowed and
// edgecert's is absent.
func lookup(annotations map[string]string, ours, theirs string, o Options) (string, string) {
	if v, ok := annotations[ours]; ok {
		return ours, v
	}
	if v, ok := annotations[theirs]; ok && o.CertManagerAnnotations {
		return theirs, v
	}
	return "", ""
}

// specOptions fills the optional Certificate fields the annotations set:
// renewBefore and the private key.
func specOptions(annotations map[string]string, o Options, spec *edgecertv1alpha1.CertificateSpec) error {
	if name, v := lookup(annotations, RenewBeforeAnnotation, CMRenewBeforeAnnotation, o); name != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s %q: want a positive duration such as 720h", name, v)
		}
		spec.RenewBefore = &metav1.Duration{Duration: d}
	}
	var key edgecertv1alpha1.PrivateKeySpec
	set := false
	if name, v := lookup(annotations, PrivateKeyAlgorithmAnnotation, CMPrivateKeyAlgorithmAnnotation, o); name != "" {
		if v != "RSA" && v != "ECDSA" {
			return fmt.Errorf("%s %q: want RSA or ECDSA", name, v)
		}
		key.Algorithm, set = v, true
	}
	if name, v := lookup(annotations, PrivateKeySizeAnnotation, CMPrivateKeySizeAnnotation, o); name != "" {
		n, err := strconv.Atoi(v)
		alg := key.Algorithm
		if alg == "" {
			alg = "ECDSA"
		}
		valid := map[string][]int{"RSA": {2048, 3072, 4096}, "ECDSA": {256, 384}}[alg]
		if err != nil || !slices.Contains(valid, n) {
			return fmt.Errorf("%s %q: want one of %v for %s", name, v, valid, alg)
		}
		key.Size, set = n, true
	}
	if name, v := lookup(annotations, PrivateKeyRotationPolicyAnnotation, CMPrivateKeyRotationPolicyAnnotation, o); name != "" {
		if v != "Always" && v != "Never" {
			return fmt.Errorf("%s %q: want Always or Never", name, v)
		}
		key.RotationPolicy, set = v, true
	}
	if set {
		spec.PrivateKey = &key
	}
	return nil
}

// certManagerPrefixes start every cert-manager annotation.
var certManagerPrefixes = []string{"cert-manager.io/", "acme.cert-manager.io/"}

// certManagerUsed are the cert-manager annotations edgecert honours
// (Options.CertManagerAnnotations).
var certManagerUsed = []string{
	CMClusterIssuerAnnotation, CMIssuerAnnotation, CMIssuerKindAnnotation, CMIssuerGroupAnnotation,
	CMRenewBeforeAnnotation, CMPrivateKeyAlgorithmAnnotation, CMPrivateKeySizeAnnotation, CMPrivateKeyRotationPolicyAnnotation,
}

// certManagerUnused says why edgecert leaves the cert-manager annotations
// users set most aside; any other cert-manager.io/ annotation is not
// supported either.
var certManagerUnused = map[string]string{
	"cert-manager.io/duration":                  "ACME CAs choose the certificate's lifetime",
	"cert-manager.io/common-name":               "edgecert asks ACME CAs for DNS names only (Let's Encrypt no longer sets a common name)",
	"cert-manager.io/revision-history-limit":    "edgecert keeps no CertificateRequests to prune",
	"acme.cert-manager.io/http01-edit-in-place": "edgecert answers HTTP-01 from its own listener, or through Istio with http01.istio",
	"acme.cert-manager.io/http01-ingress-class": "edgecert answers HTTP-01 from its own listener, or through Istio with http01.istio",
}

// UnsupportedCertManagerAnnotations lists, sorted and with the reason, the
// cert-manager.io/ and acme.cert-manager.io/ annotations that edgecert
// does not apply, for an event:
// a migrated Ingress should not lose a setting silently.
func UnsupportedCertManagerAnnotations(annotations map[string]string) []string {
	var out []string
	for k := range annotations {
		cm := slices.ContainsFunc(certManagerPrefixes, func(p string) bool { return strings.HasPrefix(k, p) })
		if !cm || slices.Contains(certManagerUsed, k) {
			continue
		}
		why, ok := certManagerUnused[k]
		if !ok {
			why = "not supported by edgecert"
		}
		out = append(out, k+" ("+why+")")
	}
	slices.Sort(out)
	return out
}
