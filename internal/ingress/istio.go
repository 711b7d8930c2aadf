package ingress

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/names"
)

// Fill asks for an empty credentialName to be set on the server with
// PortName, once SecretName exists and holds a valid key pair.
type Fill struct {
	PortName   string
	SecretName string
}

// IstioResult is what an annotated Istio Gateway wants.
type IstioResult struct {
	// Certificates, one per credential, in the workload namespace.
	Certificates []Certificate
	// Fills are servers without a credentialName that edgecert names.
	Fills []Fill
}

// IstioCertificates returns one Certificate per credential the Gateway's
// TLS servers (SIMPLE, MUTUAL, OPTIONAL_MUTUAL) use, in workloadNamespace
// (where Istio's SDS reads Secrets), covering the hosts of every server
// that uses it. A SIMPLE server with no credential at all gets a generated
// one (and a Fill). Servers that mount files, list several
// credentialNames, or name a credential in another namespace
// ("<ns>/<name>" is not a Kubernetes Secret name) are left alone, as are
// hosts no certificate can name ("*", IP addresses). annotations are the
// Gateway's; only edgecert's own annotations apply to Istio Gateways.
func IstioCertificates(gw gateway.Gateway, annotations map[string]string, workloadNamespace string, issuer edgecertv1alpha1.IssuerReference) (IstioResult, error) {
	var res IstioResult
	var secrets secretHosts
	for _, s := range gw.Servers {
		t := s.TLS
		if t == nil || !slices.Contains([]string{"SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"}, t.Mode) {
			continue
		}
		if t.ServerCertificate != "" || t.PrivateKey != "" || len(t.CredentialNames) > 0 {
			continue
		}
		secret := t.CredentialName
		if secret == "" {
			if t.Mode != "SIMPLE" {
				// A MUTUAL server also needs client CAs, which an ACME
				// certificate does not give: a person names them.
				continue
			}
			secret = GeneratedCredentialName(gw.Namespace, gw.Name, s.Port)
			res.Fills = append(res.Fills, Fill{PortName: s.Port.Name, SecretName: secret})
		}
		if strings.Contains(secret, "/") {
			continue
		}
		secrets.add(secretKey{workloadNamespace, secret}, s.Hosts...)
	}
	certs, err := secrets.certificates(issuer, annotations, Options{})
	if err != nil {
		return IstioResult{}, err
	}
	res.Certificates = certs
	// A Fill for a server whose hosts gave no Certificate has nothing to
	// wait for.
	res.Fills = slices.DeleteFunc(res.Fills, func(f Fill) bool { return len(secrets.of(secretKey{workloadNamespace, f.SecretName})) == 0 })
	if len(res.Fills) == 0 {
		res.Fills = nil
	}
	return res, nil
}

// GeneratedCredentialName is the Secret edgecert names for a server that
// has none: "<namespace>-<gateway>-<port name>-tls", made a valid Secret
// name, and shortened with a hash past 253 characters.
func GeneratedCredentialName(namespace, name string, port gateway.Port) string {
	p := port.Name
	if p == "" {
		p = strconv.FormatUint(uint64(port.Number), 10)
	}
	return names.Fit(sanitize(namespace+"-"+name+"-"+p), "-tls", names.MaxObjectName)
}

// sanitize lowers s and turns what a Secret name cannot hold into "-".
func sanitize(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '.' {
			b[i] = '-'
		}
	}
	return strings.Trim(string(b), "-.")
}

// ServiceSelector is an ingress gateway Service: its namespace and the
// pod labels it selects.
type ServiceSelector struct {
	Namespace string
	Selector  map[string]string
}

// WorkloadNamespace finds where the gateway pods that a Gateway's selector
// picks run: the namespaces of Services whose pod selector includes every
// label of the Gateway's selector (their pods carry those labels). The
// Gateway's own namespace wins when it is one of them; otherwise a single
// namespace is the answer. With none, or several, fallback is used when
// set, else the Gateway's namespace. The reason says how it was chosen,
// for an event.
func WorkloadNamespace(gwNamespace string, selector map[string]string, services []ServiceSelector, fallback string) (string, string) {
	var found []string
	if len(selector) > 0 {
		for _, svc := range services {
			if selects(svc.Selector, selector) && !slices.Contains(found, svc.Namespace) {
				found = append(found, svc.Namespace)
			}
		}
	}
	slices.Sort(found)
	switch {
	case slices.Contains(found, gwNamespace):
		return gwNamespace, "a gateway Service in the Gateway's namespace selects its pods"
	case len(found) == 1:
		return found[0], "the only gateway Service that selects its pods is there"
	case fallback != "":
		return fallback, fmt.Sprintf("%d gateway Services select its pods; using the configured default", len(found))
	}
	return gwNamespace, fmt.Sprintf("%d gateway Services select its pods and no default is configured; using the Gateway's namespace", len(found))
}

// selects reports whether every label of want is in podSelector.
func selects(podSelector, want map[string]string) bool {
	for k, v := range want {
		if got, ok := podSelector[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// WorkloadNamespaceRefusal says why the Certificates of an Istio Gateway in
// gwNamespace may not be generated into workload namespace ws, or "" when
// they may. Their own namespace is always fine. Another namespace holds
// keys for others, so it must be one the platform configured (allowed:
// gateway.WorkloadNamespaces), never one found only through the tenant's
// selector, and the issuer must be a ClusterIssuer (a namespaced Issuer
// serves its own namespace, and an Issuer of ws is not the tenant's).
func WorkloadNamespaceRefusal(gwNamespace, ws string, allowed []string, issuer edgecertv1alpha1.IssuerReference) string {
	if ws == gwNamespace {
		return ""
	}
	if !slices.Contains(allowed, ws) {
		return fmt.Sprintf("the gateway pods this Gateway selects run in namespace %s, which is not a workload namespace the platform configured (--istio-gateway-workload-namespace or a GatewayPolicy gateway); no Certificate is made there", ws)
	}
	if issuer.KindOrDefault() != edgecertv1alpha1.ClusterIssuerKind {
		return fmt.Sprintf("the gateway pods run in namespace %s: Certificates there need a ClusterIssuer (edgecert.dev/cluster-issuer), not the Issuer %q", ws, issuer.Name)
	}
	return ""
}

// SquatsCopyName reports whether secretName, for a Gateway of namespace
// gwNamespace, has the shape of the name under which a GatewayService of
// another namespace gets its Secret copied into the workload namespace
// ("<namespace>.<name>", gateway.CredentialName): a credentialName may not
// take such a name from another tenant.
func SquatsCopyName(gwNamespace, secretName string) bool {
	return strings.Contains(secretName, ".") && !strings.HasPrefix(secretName, gwNamespace+".")
}
