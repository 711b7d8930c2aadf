package issuance

import (
	"testing"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

func TestCheckSolvers(t *testing.T) {
	keys := &edgecertv1alpha1.SecretKeySelector{Name: "aws", Key: "id"}
	route53 := func(p edgecertv1alpha1.Route53Provider) edgecertv1alpha1.ACMESolver {
		return edgecertv1alpha1.ACMESolver{DNS01: &edgecertv1alpha1.DNS01Solver{Route53: &p}}
	}
	istio := edgecertv1alpha1.ACMESolver{HTTP01: &edgecertv1alpha1.HTTP01Solver{Istio: &edgecertv1alpha1.HTTP01IstioRoute{}}}
	plainHTTP := edgecertv1alpha1.ACMESolver{HTTP01: &edgecertv1alpha1.HTTP01Solver{}}
	withKeys := route53(edgecertv1alpha1.Route53Provider{Region: "us-east-1", AccessKeyIDSecretRef: keys, SecretAccessKeySecretRef: keys})
	ambient := route53(edgecertv1alpha1.Route53Provider{Region: "us-east-1"})
	halfKeys := route53(edgecertv1alpha1.Route53Provider{Region: "us-east-1", AccessKeyIDSecretRef: keys})
	endpoint := route53(edgecertv1alpha1.Route53Provider{Region: "us-east-1", AccessKeyIDSecretRef: keys, SecretAccessKeySecretRef: keys, Endpoint: "http://10.0.0.1"})
	const (
		ambientErr  = "solvers[1].dns01.route53: an Issuer must name its credentials (accessKeyIDSecretRef and secretAccessKeySecretRef); edgecert's own AWS identity is for ClusterIssuers unless edgecert runs with --issuer-ambient-credentials"
		endpointErr = "solvers[1].dns01.route53.endpoint: endpoint overrides are for ClusterIssuers unless edgecert runs with --issuer-ambient-credentials"
	)
	for name, tc := range map[string]struct {
		kind         string
		solvers      []edgecertv1alpha1.ACMESolver
		allowAmbient bool
		want         string
	}{
		"Issuer with keys and plain HTTP-01": {kind: "Issuer", solvers: []edgecertv1alpha1.ACMESolver{plainHTTP, withKeys}},
		"Issuer, ambient identity":           {kind: "Issuer", solvers: []edgecertv1alpha1.ACMESolver{plainHTTP, ambient}, want: ambientErr},
		"Issuer, one key of two":             {kind: "Issuer", solvers: []edgecertv1alpha1.ACMESolver{plainHTTP, halfKeys}, want: ambientErr},
		"Issuer, endpoint":                   {kind: "Issuer", solvers: []edgecertv1alpha1.ACMESolver{plainHTTP, endpoint}, want: endpointErr},
		"Issuer, ambient allowed":            {kind: "Issuer", solvers: []edgecertv1alpha1.ACMESolver{plainHTTP, ambient}, allowAmbient: true},
		"Issuer, endpoint allowed":           {kind: "Issuer", solvers: []edgecertv1alpha1.ACMESolver{plainHTTP, endpoint}, allowAmbient: true},
		"Issuer, istio even when allowed":    {kind: "Issuer", solvers: []edgecertv1alpha1.ACMESolver{istio}, allowAmbient: true, want: "solvers[0].http01.istio: routes through the shared ingress gateway are for ClusterIssuers only"},
		"Issuer, every fault":                {kind: "Issuer", solvers: []edgecertv1alpha1.ACMESolver{istio, route53(edgecertv1alpha1.Route53Provider{Endpoint: "http://x"})}, want: "solvers[0].http01.istio: routes through the shared ingress gateway are for ClusterIssuers only\n" + ambientErr + "\n" + endpointErr},
		"ClusterIssuer may do all":           {kind: "ClusterIssuer", solvers: []edgecertv1alpha1.ACMESolver{istio, ambient, endpoint}},
	} {
		t.Run(name, func(t *testing.T) {
			got := ""
			if err := CheckSolvers(tc.kind, tc.solvers, tc.allowAmbient); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("CheckSolvers =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
