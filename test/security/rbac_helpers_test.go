package security

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/edgecert/edgecert/internal/testenv"
)

// edgecertUser is the user name of the ServiceAccount config/rbac binds
// edgecert's roles to: the API server's RBAC matches a ServiceAccount
// subject by this name.
const edgecertUser = "system:serviceaccount:edgecert-system:edgecert-controller"

// configFile reads a manifest under config/ into obj.
func configFile(t *testing.T, path string, obj client.Object) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", path))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// createOrReplace creates obj as the bed's admin, or replaces the object of
// that name (tests of this package share one control plane).
func createOrReplace(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	c := bed.ControlPlane.Client
	err := c.Create(ctx, obj)
	if apierrors.IsAlreadyExists(err) {
		current := obj.DeepCopyObject().(client.Object)
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), current); err != nil {
			t.Fatal(err)
		}
		obj.SetResourceVersion(current.GetResourceVersion())
		err = c.Update(ctx, obj)
	}
	if err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// ensureNamespace creates namespace name unless it exists.
func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	err := bed.ControlPlane.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// kubeconfigFor writes a kubeconfig for cfg (a user's client certificate)
// and returns its path, for `edgecert controller --kubeconfig`.
func kubeconfigFor(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bed"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["user"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["bed"] = &clientcmdapi.Context{Cluster: "bed", AuthInfo: "user"}
	kc.CurrentContext = "bed"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// podTemplate is a one-container pod template labelled app=name.
func podTemplate(name string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.example/" + name + ":1"}}},
	}
}

func newDeployment(ns, name string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name),
		},
	}
}

func newDaemonSet(ns, name string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name),
		},
	}
}

// installEdgecertRBAC installs edgecert's ServiceAccount, its generated
// ClusterRoles (config/rbac/role.yaml, config/rbac/rollout/role.yaml) and
// the cluster-wide binding (config/rbac/role_binding.yaml), exactly as
// config/rbac has them.
func installEdgecertRBAC(t *testing.T) {
	t.Helper()
	ensureNamespace(t, "edgecert-system")
	var sa corev1.ServiceAccount
	configFile(t, "rbac/service_account.yaml", &sa)
	createOrReplace(t, &sa)
	var controller, rollout rbacv1.ClusterRole
	configFile(t, "rbac/role.yaml", &controller)
	configFile(t, "rbac/rollout/role.yaml", &rollout)
	createOrReplace(t, &controller)
	createOrReplace(t, &rollout)
	var binding rbacv1.ClusterRoleBinding
	configFile(t, "rbac/role_binding.yaml", &binding)
	createOrReplace(t, &binding)
}

// optIn binds edgecert-rollout in namespace ns with the RoleBinding of
// config/rbac/rollout/rolebinding.yaml, its namespace changed.
func optIn(t *testing.T, ns string) {
	t.Helper()
	var rb rbacv1.RoleBinding
	configFile(t, "rbac/rollout/rolebinding.yaml", &rb)
	rb.Namespace = ns
	createOrReplace(t, &rb)
}

// startControllerAs runs `edgecert controller` as the user of kubeconfig,
// with edgecert's namespace ns, leader election off.
func startControllerAs(t *testing.T, kubeconfig, ns string) *testenv.Controller {
	t.Helper()
	c, err := testenv.StartController(kubeconfig, "--namespace", ns, "--leader-elect=false", "--zap-log-level", "info")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}
