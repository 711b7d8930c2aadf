package security

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
)

// installTenantGuard creates config/admission/tenant-guard.yaml as shipped,
// except that each binding is limited to namespaces labelled for this test
// (the bed is shared with tests whose controller is not edgecert's
// ServiceAccount), and removes it when the test ends.
func installTenantGuard(t *testing.T, label string) {
	t.Helper()
	ctx := context.Background()
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "admission", "tenant-guard.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var head metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		var obj client.Object
		switch head.Kind {
		case "ValidatingAdmissionPolicy":
			obj = &admissionregistrationv1.ValidatingAdmissionPolicy{}
		case "ValidatingAdmissionPolicyBinding":
			obj = &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
		default:
			t.Fatalf("unexpected kind %q in tenant-guard.yaml", head.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatal(err)
		}
		if b, ok := obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok {
			b.Spec.MatchResources = &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{label: "true"}}}
		}
		if err := bed.ControlPlane.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = bed.ControlPlane.Client.Delete(context.Background(), obj) })
	}
}

// userClient is a client acting as user, allowed by RBAC to write Secrets,
// Certificates and Issuers in ns (the API server's RBAC lets it; the
// admission policies are what may say no).
func userClient(t *testing.T, user, ns string) client.Client {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "writer-"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"*"}},
			{APIGroups: []string{"edgecert.dev"}, Resources: []string{"certificates", "issuers"}, Verbs: []string{"*"}},
		},
	}
	if err := bed.ControlPlane.Client.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "writer-"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if err := bed.ControlPlane.Client.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	cfg, err := bed.ControlPlane.UserConfig(user)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: bed.ControlPlane.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The shipped admission policies refuse, as a tenant creates them, a
// Secret or a Certificate carrying edgecert's marks and a namespaced Issuer
// with a route through the shared gateway or edgecert's cloud identity;
// plain objects pass, and edgecert's own ServiceAccount may set its marks.
func TestAdmissionRefusesObviouslyForeignObjects(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "guarded")
	label := "edgecert.dev/test-guard-" + ns
	var nsObj corev1.Namespace
	if err := bed.ControlPlane.Client.Get(ctx, client.ObjectKey{Name: ns}, &nsObj); err != nil {
		t.Fatal(err)
	}
	nsObj.Labels = map[string]string{label: "true"}
	if err := bed.ControlPlane.Client.Update(ctx, &nsObj); err != nil {
		t.Fatal(err)
	}
	installTenantGuard(t, label)
	tenant := userClient(t, "tenant-"+ns, ns)
	edgecert := userClient(t, edgecertUser, ns)

	marked := func(name string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "edgecert"}}}
	}
	// The API server starts enforcing a new policy once it has compiled it.
	testenv.Eventually(t, "a tenant's Secret labelled as edgecert's is refused", func() (bool, string) {
		s := marked("forged")
		err := tenant.Create(ctx, s)
		if err == nil {
			_ = bed.ControlPlane.Client.Delete(ctx, s)
			return false, "created"
		}
		want := "the label app.kubernetes.io/managed-by=edgecert is set by edgecert only (docs/security.md)"
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), want), err.Error()
	})
	if err := tenant.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"}}); err != nil {
		t.Errorf("a plain Secret is refused: %v", err)
	}
	if err := edgecert.Create(ctx, marked("edgecerts")); err != nil {
		t.Errorf("edgecert's ServiceAccount may not label its Secret: %v", err)
	}

	forged := &edgecertv1alpha1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "forged", Annotations: map[string]string{"edgecert.dev/source": "IstioGateway victim/public"}},
		Spec:       edgecertv1alpha1.CertificateSpec{DNSNames: []string{host("forged")}, SecretName: "forged-tls", IssuerRef: clusterIssuer("any")},
	}
	expectForbidden(t, tenant.Create(ctx, forged), "the annotation edgecert.dev/source is set by edgecert only")
	plain := forged.DeepCopy()
	plain.Annotations = nil
	if err := tenant.Create(ctx, plain); err != nil {
		t.Errorf("a plain Certificate is refused: %v", err)
	}

	routes := bed.Issuer(ns, "routes", edgecertv1alpha1.ACMESolver{HTTP01: &edgecertv1alpha1.HTTP01Solver{Istio: &edgecertv1alpha1.HTTP01IstioRoute{
		SolverService: edgecertv1alpha1.ServiceReference{Namespace: "edgecert-system", Name: "edgecert-http01", Port: 8089},
	}}})
	expectForbidden(t, tenant.Create(ctx, routes), "http01.istio writes a route on the shared ingress gateway: it is for ClusterIssuers only")
	ambient := bed.Issuer(ns, "ambient", edgecertv1alpha1.ACMESolver{DNS01: &edgecertv1alpha1.DNS01Solver{Route53: &edgecertv1alpha1.Route53Provider{Region: "us-east-1"}}})
	expectForbidden(t, tenant.Create(ctx, ambient), "a namespaced Issuer's route53 solver must name its credentials")
	if err := tenant.Create(ctx, bed.Issuer(ns, "bind")); err != nil {
		t.Errorf("an Issuer with a BIND solver is refused: %v", err)
	}
}

func expectForbidden(t *testing.T, err error, substr string) {
	t.Helper()
	if !apierrors.IsForbidden(err) || !strings.Contains(fmt.Sprint(err), substr) {
		t.Errorf("got %v, want Forbidden saying %q", err, substr)
	}
}
