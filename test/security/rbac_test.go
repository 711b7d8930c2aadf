package security

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
)

// checksumAnnotation is what a CertMerge rollout sets on a pod template.
const checksumAnnotation = "edgecert.dev/bundle-checksum"

// Item 6: edgecert's roles, bound as config/rbac binds them, do not let
// edgecert patch a kube-system DaemonSet (nor any workload of a namespace
// that did not opt in), while a CertMerge rollout in a namespace that bound
// edgecert-rollout works, and one elsewhere is reported, not retried in a
// crash loop.
func TestEdgecertsRolesPatchWorkloadsOnlyWhereANamespaceOptedIn(t *testing.T) {
	ctx := context.Background()
	installEdgecertRBAC(t)
	optedIn := namespace(t, "team-rollout")
	notOptedIn := namespace(t, "team-no-rollout")
	optIn(t, optedIn)

	cfg, err := bed.ControlPlane.UserConfig(edgecertUser)
	if err != nil {
		t.Fatal(err)
	}
	asEdgecert, err := client.New(cfg, client.Options{Scheme: bed.ControlPlane.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	admin := bed.ControlPlane.Client

	// A compromised edgecert, with edgecert's credentials, patches a
	// kube-system DaemonSet and a workload of a namespace that did not opt in.
	agent := newDaemonSet("kube-system", "node-agent-"+notOptedIn)
	appWithoutOptIn := newDeployment(notOptedIn, "app")
	for _, obj := range []client.Object{agent, appWithoutOptIn} {
		if err := admin.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	attack := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"template":{"metadata":{"annotations":{"attacker":"was-here"}}}}}`))
	if err := asEdgecert.Patch(ctx, agent.DeepCopy(), attack); !apierrors.IsForbidden(err) {
		t.Errorf("edgecert patching DaemonSet kube-system/%s: err = %v, want Forbidden", agent.Name, err)
	}
	if err := asEdgecert.Patch(ctx, appWithoutOptIn.DeepCopy(), attack); !apierrors.IsForbidden(err) {
		t.Errorf("edgecert patching Deployment %s/app: err = %v, want Forbidden", notOptedIn, err)
	}

	// The controller, running as that identity, rolls a CertMerge's
	// Deployment in the namespace that opted in and refuses, with a
	// condition naming the RoleBinding to create, in the other.
	startControllerAs(t, kubeconfigFor(t, cfg), "edgecert-system")
	merges := map[string]*edgecertv1alpha1.CertMerge{}
	for _, ns := range []string{optedIn, notOptedIn} {
		cert, key := testenv.SelfSigned(time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour), ns+".example.com")
		src := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "src"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key}}
		cm := &edgecertv1alpha1.CertMerge{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bundle"}, Spec: edgecertv1alpha1.CertMergeSpec{
			SecretName: "bundle",
			BundleSources: edgecertv1alpha1.BundleSources{
				Secrets:   []edgecertv1alpha1.SecretSource{{Name: "src"}},
				Workloads: []edgecertv1alpha1.WorkloadReference{{Kind: "Deployment", Name: "web"}},
			},
		}}
		for _, obj := range []client.Object{src, newDeployment(ns, "web"), cm} {
			if err := admin.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
		}
		merges[ns] = cm
	}

	testenv.Eventually(t, "the Deployment in the opted-in namespace rolled to the bundle's checksum", func() (bool, string) {
		var cm edgecertv1alpha1.CertMerge
		var d appsv1.Deployment
		if err := admin.Get(ctx, client.ObjectKeyFromObject(merges[optedIn]), &cm); err != nil {
			return false, err.Error()
		}
		if err := admin.Get(ctx, types.NamespacedName{Namespace: optedIn, Name: "web"}, &d); err != nil {
			return false, err.Error()
		}
		got := d.Spec.Template.Annotations[checksumAnnotation]
		return got != "" && got == cm.Status.BundleChecksum, "pod template checksum " + got + ", status " + cm.Status.BundleChecksum
	})
	wantMessage := "create a RoleBinding in " + notOptedIn + " binding ClusterRole edgecert-rollout to edgecert's ServiceAccount"
	testenv.Eventually(t, "the CertMerge in the other namespace is Ready=False WorkloadForbidden", func() (bool, string) {
		var cm edgecertv1alpha1.CertMerge
		if err := admin.Get(ctx, client.ObjectKeyFromObject(merges[notOptedIn]), &cm); err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(cm.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		if c == nil {
			return false, "no Ready condition"
		}
		return c.Status == metav1.ConditionFalse && c.Reason == edgecertv1alpha1.ReasonWorkloadForbidden && strings.Contains(c.Message, wantMessage),
			string(c.Status) + " " + c.Reason + ": " + c.Message
	})
	bed.ControlPlane.ExpectEvent(t, merges[notOptedIn], edgecertv1alpha1.ReasonWorkloadForbidden, wantMessage)

	var d appsv1.Deployment
	if err := admin.Get(ctx, types.NamespacedName{Namespace: notOptedIn, Name: "web"}, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Spec.Template.Annotations) != 0 {
		t.Errorf("Deployment %s/web pod template annotations = %v, want none", notOptedIn, d.Spec.Template.Annotations)
	}
	var ds appsv1.DaemonSet
	if err := admin.Get(ctx, client.ObjectKeyFromObject(agent), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds.Spec.Template.Annotations) != 0 {
		t.Errorf("DaemonSet kube-system/%s pod template annotations = %v, want none", agent.Name, ds.Spec.Template.Annotations)
	}
	ws, err := bed.ControlPlane.AuditWrites()
	if err != nil {
		t.Fatal(err)
	}
	if n := testenv.CountWrites(ws, func(w testenv.AuditWrite) bool {
		return w.User == edgecertUser && w.Code/100 == 2 && (w.Resource == "daemonsets" && w.Namespace == "kube-system" ||
			w.Resource == "deployments" && w.Namespace == notOptedIn)
	}); n != 0 {
		t.Errorf("edgecert's successful writes to kube-system DaemonSets and %s Deployments: %d, want 0", notOptedIn, n)
	}
}
