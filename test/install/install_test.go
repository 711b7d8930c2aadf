// Package install checks what a platform team installs: the Helm chart
// (charts/edgecert) and the kustomize tree (config/default). Both are
// rendered (helm lint and helm template with the pinned helm, kustomize
// with its library) and every object is applied to the test bed's real
// kube-apiserver: Namespaces and CRDs for real, everything else with a
// server-side dry run, each asserted accepted. The controller's arguments
// are parsed with the controller's own flag set, so a flag the chart does
// not set, or sets to another default than the binary's, fails here.
package install

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/edgecert/edgecert/internal/manager"
	"github.com/edgecert/edgecert/internal/testenv"
)

var bed *testenv.Bed

// Only the API server: nothing here issues certificates.
func TestMain(m *testing.M) {
	testenv.MainWith(m, &bed, func() (*testenv.Bed, func() error, error) {
		cp, err := testenv.StartControlPlane()
		if err != nil {
			return nil, nil, err
		}
		return &testenv.Bed{ControlPlane: cp}, func() error { cp.Stop(); return nil }, nil
	})
}

const ns = "edgecert-system"

// nonDefault are values a platform team might set, each different from the
// chart's default.
const nonDefault = `
replicaCount: 3
image:
  repository: registry.example.com/platform/edgecert
  digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
flags:
  leader-election-lease-duration: 30s
  http01-self-check-nameservers: ["1.1.1.1:53", "8.8.8.8:53"]
  max-concurrent-reconciles: 20
  max-order-age: 2h
  require-host-claims: true
  kube-api-qps: 12.5
  ingress-shim-cert-manager-annotations: true
  default-issuer-name: letsencrypt
  istio-gateway-workload-namespace: istio-ingress
logging:
  level: debug
extraArgs: ["--zap-stacktrace-level=panic"]
ports:
  metrics: 9090
  probes: 9091
  http01: 9089
rollout:
  namespaces: [team-a, team-b]
admission:
  enabled: true
podDisruptionBudget:
  minAvailable: 2
priorityClassName: system-cluster-critical
nodeSelector:
  kubernetes.io/os: linux
`

func TestHelmChartRendersAndIsAccepted(t *testing.T) {
	chart := filepath.Join(testenv.RepoRoot(), "charts", "edgecert")
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(nonDefault), 0o600); err != nil {
		t.Fatal(err)
	}
	helm(t, "lint", "--strict", chart)
	helm(t, "lint", "--strict", "--values", values, chart)

	t.Run("defaults", func(t *testing.T) {
		objs := decode(t, helm(t, "template", "edgecert", chart, "--namespace", ns, "--include-crds"))
		createNamespaces(t, ns)
		applyAll(t, objs)
		checkCRDsComplete(t, objs)
		want := manager.DefaultOptions()
		want.Namespace, want.LeaderElectionNamespace = "$(POD_NAMESPACE)", "$(POD_NAMESPACE)"
		d := checkDeployment(t, objs, 2, want, "info")
		checkKinds(t, objs, map[string]int{
			"CustomResourceDefinition": len(crdFiles(t)), "ServiceAccount": 1, "ClusterRole": 2, "ClusterRoleBinding": 1,
			"Deployment": 1, "Service": 2, "PodDisruptionBudget": 1,
		})
		checkServices(t, objs, d)
		if got := image(d); got != "ghcr.io/edgecert/edgecert:latest" {
			t.Errorf("image %s, want ghcr.io/edgecert/edgecert:latest (the chart's appVersion)", got)
		}
	})

	t.Run("non-default values", func(t *testing.T) {
		objs := decode(t, helm(t, "template", "edgecert", chart, "--namespace", ns, "--values", values))
		createNamespaces(t, ns, "team-a", "team-b")
		applyAll(t, objs)
		want := manager.DefaultOptions()
		want.Namespace, want.LeaderElectionNamespace = "$(POD_NAMESPACE)", "$(POD_NAMESPACE)"
		want.MetricsAddr, want.ProbeAddr, want.HTTP01Addr = ":9090", ":9091", ":9089"
		want.LeaseDuration = 30 * time.Second
		want.HTTP01SelfCheckNameservers = []string{"1.1.1.1:53", "8.8.8.8:53"}
		want.MaxConcurrentReconciles = 20
		want.MaxOrderAge = 2 * time.Hour
		want.RequireHostClaims = true
		want.KubeAPIQPS = 12.5
		want.IngressShimCertManagerAnnotations = true
		want.DefaultIssuerName = "letsencrypt"
		want.IstioGatewayWorkloadNamespace = "istio-ingress"
		d := checkDeployment(t, objs, 3, want, "debug")
		checkServices(t, objs, d)
		checkKinds(t, objs, map[string]int{
			"ServiceAccount": 1, "ClusterRole": 2, "ClusterRoleBinding": 1, "RoleBinding": 2,
			"Deployment": 1, "Service": 2, "PodDisruptionBudget": 1,
			"ValidatingAdmissionPolicy": 2, "ValidatingAdmissionPolicyBinding": 2,
		})
		if got := image(d); got != "registry.example.com/platform/edgecert@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" {
			t.Errorf("image %s, want the repository by digest", got)
		}
		if d.Spec.Template.Spec.PriorityClassName != "system-cluster-critical" || d.Spec.Template.Spec.NodeSelector["kubernetes.io/os"] != "linux" {
			t.Errorf("priorityClassName %q, nodeSelector %v: the values were not used", d.Spec.Template.Spec.PriorityClassName, d.Spec.Template.Spec.NodeSelector)
		}
		var pdb policyv1.PodDisruptionBudget
		one(t, objs, "PodDisruptionBudget", &pdb)
		if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 2 {
			t.Errorf("PodDisruptionBudget minAvailable %v, want 2", pdb.Spec.MinAvailable)
		}
		var bound []string
		for _, o := range objs {
			if o.GetKind() == "RoleBinding" {
				var rb struct {
					RoleRef  struct{ Name string }
					Subjects []struct{ Kind, Name, Namespace string }
				}
				convert(t, o, &rb)
				if rb.RoleRef.Name != "edgecert-rollout" || len(rb.Subjects) != 1 || rb.Subjects[0].Name != "edgecert-controller" || rb.Subjects[0].Namespace != ns {
					t.Errorf("RoleBinding %s/%s: %+v, want edgecert-rollout bound to %s/edgecert-controller", o.GetNamespace(), o.GetName(), rb, ns)
				}
				bound = append(bound, o.GetNamespace())
			}
		}
		sort.Strings(bound)
		if diff := cmp.Diff([]string{"team-a", "team-b"}, bound); diff != "" {
			t.Errorf("namespaces edgecert may roll workloads in (-want +got):\n%s", diff)
		}
		// The tenant guard lets edgecert's ServiceAccount, in the release's
		// namespace, through.
		for _, o := range objs {
			if o.GetKind() == "ValidatingAdmissionPolicy" {
				conds, _, _ := unstructured.NestedSlice(o.Object, "spec", "matchConditions")
				if !strings.Contains(fmt.Sprint(conds), "system:serviceaccount:"+ns+":edgecert-controller") {
					t.Errorf("ValidatingAdmissionPolicy %s does not exempt %s/edgecert-controller: %v", o.GetName(), ns, conds)
				}
			}
		}
	})

	// The ServiceMonitor's CRD is not in the test bed: the monitor is
	// checked against the metrics Service it must select.
	t.Run("ServiceMonitor", func(t *testing.T) {
		objs := decode(t, helm(t, "template", "edgecert", chart, "--namespace", ns, "--set", "serviceMonitor.enabled=true", "--set", "serviceMonitor.labels.release=prometheus"))
		var sm struct {
			APIVersion string
			Metadata   struct {
				Namespace string
				Labels    map[string]string
			}
			Spec struct {
				Selector          metav1.LabelSelector
				NamespaceSelector struct{ MatchNames []string }
				Endpoints         []struct{ Port, Path string }
			}
		}
		one(t, objs, "ServiceMonitor", &sm)
		var metrics corev1.Service
		named(t, objs, "Service", "edgecert-metrics", &metrics)
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(labels.Set(metrics.Labels)) {
			t.Errorf("ServiceMonitor selector %s does not select the metrics Service (labels %v)", sel, metrics.Labels)
		}
		var http01 corev1.Service
		named(t, objs, "Service", "edgecert-http01", &http01)
		if sel.Matches(labels.Set(http01.Labels)) {
			t.Errorf("ServiceMonitor selector %s also selects the HTTP-01 Service", sel)
		}
		if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Metadata.Labels["release"] != "prometheus" ||
			!slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{ns}) ||
			len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != metrics.Spec.Ports[0].Name || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor %+v: want monitoring.coreos.com/v1 with label release=prometheus, scraping port %q /metrics in %s", sm, metrics.Spec.Ports[0].Name, ns)
		}
	})
}

func TestKustomizeTreeBuildsAndIsAccepted(t *testing.T) {
	t.Run("config/default", func(t *testing.T) {
		objs := kustomize(t, filepath.Join(testenv.RepoRoot(), "config", "default"))
		applyAll(t, objs)
		checkCRDsComplete(t, objs)
		want := manager.DefaultOptions()
		want.Namespace, want.LeaderElectionNamespace = "$(POD_NAMESPACE)", "$(POD_NAMESPACE)"
		d := checkDeployment(t, objs, 2, want, "")
		checkServices(t, objs, d)
		checkKinds(t, objs, map[string]int{
			"Namespace": 1, "CustomResourceDefinition": len(crdFiles(t)), "ServiceAccount": 1, "ClusterRole": 1, "ClusterRoleBinding": 1,
			"Deployment": 1, "Service": 2, "PodDisruptionBudget": 1,
		})
		for _, o := range objs {
			if o.GetNamespace() != "" && o.GetNamespace() != ns {
				t.Errorf("%s %s is in namespace %s, want %s", o.GetKind(), o.GetName(), o.GetNamespace(), ns)
			}
		}
	})

	// With the optional components: the rollout ClusterRole and the
	// tenant guard.
	t.Run("with components", func(t *testing.T) {
		overlay := t.TempDir()
		config := filepath.Join(testenv.RepoRoot(), "config")
		rel := func(p ...string) string {
			r, err := filepath.Rel(overlay, filepath.Join(append([]string{config}, p...)...))
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		k := fmt.Sprintf("resources:\n- %s\ncomponents:\n- %s\n- %s\n", rel("default"), rel("rbac", "rollout"), rel("admission"))
		if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(k), 0o600); err != nil {
			t.Fatal(err)
		}
		objs := kustomize(t, overlay)
		applyAll(t, objs)
		checkKinds(t, objs, map[string]int{
			"Namespace": 1, "CustomResourceDefinition": len(crdFiles(t)), "ServiceAccount": 1, "ClusterRole": 2, "ClusterRoleBinding": 1,
			"Deployment": 1, "Service": 2, "PodDisruptionBudget": 1,
			"ValidatingAdmissionPolicy": 2, "ValidatingAdmissionPolicyBinding": 2,
		})
	})
}

// helm runs the pinned helm (bin/helm-<HELM_VERSION>) and returns its
// standard output.
func helm(t *testing.T, args ...string) []byte {
	t.Helper()
	bin, err := testenv.HelmPath()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// No repositories, no cache outside the test.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// kustomize builds dir with kustomize's library, as `kubectl kustomize`
// does; paths outside dir are allowed (the components overlay).
func kustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = kusttypes.LoadRestrictionsNone
	res, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, out)
}

func decode(t *testing.T, manifests []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("decode rendered objects: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	if len(objs) == 0 {
		t.Fatal("nothing rendered")
	}
	return objs
}

// createNamespaces makes the namespaces the rendered objects go to (Helm
// renders none; a dry run cannot create objects in a namespace that does
// not exist).
func createNamespaces(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		err := bed.ControlPlane.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

// applyAll applies Namespaces and CRDs for real (the test bed has ours
// already; applying them again checks they are accepted as shipped), then
// every other object with a server-side dry run, and fails for each the
// API server refuses.
func applyAll(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	c := bed.ControlPlane.Client
	first := func(o *unstructured.Unstructured) bool {
		return o.GetKind() == "Namespace" || o.GetKind() == "CustomResourceDefinition"
	}
	for _, o := range objs {
		if first(o) {
			if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), client.FieldOwner("edgecert-install-test"), client.ForceOwnership); err != nil {
				t.Errorf("apply %s %s: %v", o.GetKind(), o.GetName(), err)
			}
		}
	}
	for _, o := range objs {
		if first(o) {
			continue
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), client.DryRunAll, client.FieldOwner("edgecert-install-test"), client.ForceOwnership); err != nil {
			t.Errorf("dry-run apply %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

func crdFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs under config/crd/bases (%v)", err)
	}
	return files
}

// checkCRDsComplete: every CRD `make generate` writes is installed (a new
// one missing from config/crd/kustomization.yaml fails here).
func checkCRDsComplete(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var want, got []string
	for _, f := range crdFiles(t) {
		var crd struct{ Metadata struct{ Name string } }
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := utilyaml.Unmarshal(data, &crd); err != nil {
			t.Fatal(err)
		}
		want = append(want, crd.Metadata.Name)
	}
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			got = append(got, o.GetName())
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CRDs installed against config/crd/bases (-want +got):\n%s", diff)
	}
}

func checkKinds(t *testing.T, objs []*unstructured.Unstructured, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for _, o := range objs {
		got[o.GetKind()]++
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects rendered, by kind (-want +got):\n%s", diff)
	}
}

// checkDeployment checks the controller's Deployment: replicas, the
// security context, probes on the probe port, anti-affinity, and that its
// arguments, parsed by the controller's own flags, set every flag, to want.
func checkDeployment(t *testing.T, objs []*unstructured.Unstructured, replicas int32, want manager.Options, logLevel string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	one(t, objs, "Deployment", &d)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
		t.Errorf("replicas %v, want %d", d.Spec.Replicas, replicas)
	}
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	if spec.ServiceAccountName != "edgecert-controller" {
		t.Errorf("serviceAccountName %q, want edgecert-controller (the generated RBAC binds it)", spec.ServiceAccountName)
	}

	// Security: non-root, read-only root, no privilege escalation, no
	// capabilities, seccomp RuntimeDefault.
	psc, sc := spec.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil {
		t.Fatal("no security context")
	}
	type security struct {
		RunAsNonRoot, ReadOnlyRoot, NoEscalation, Privileged bool
		RunAsUser                                            int64
		Drop                                                 []corev1.Capability
		Seccomp                                              corev1.SeccompProfileType
	}
	got := security{
		RunAsNonRoot: deref(psc.RunAsNonRoot) && deref(sc.RunAsNonRoot),
		ReadOnlyRoot: deref(sc.ReadOnlyRootFilesystem),
		NoEscalation: sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation,
		Privileged:   deref(sc.Privileged),
	}
	if psc.RunAsUser != nil {
		got.RunAsUser = *psc.RunAsUser
	}
	if sc.Capabilities != nil {
		got.Drop = sc.Capabilities.Drop
	}
	if psc.SeccompProfile != nil {
		got.Seccomp = psc.SeccompProfile.Type
	}
	wantSec := security{RunAsNonRoot: true, ReadOnlyRoot: true, NoEscalation: true, RunAsUser: 65532, Drop: []corev1.Capability{"ALL"}, Seccomp: corev1.SeccompProfileTypeRuntimeDefault}
	if diff := cmp.Diff(wantSec, got); diff != "" {
		t.Errorf("security context (-want +got):\n%s", diff)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %v: want CPU and memory requests and a memory limit", c.Resources)
	}
	if a := spec.Affinity; a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		t.Errorf("affinity %v: want pod anti-affinity spreading the replicas", spec.Affinity)
	} else {
		term := a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
		sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) || term.TopologyKey != "kubernetes.io/hostname" {
			t.Errorf("anti-affinity term %+v does not keep the replicas' pods apart by node", term)
		}
	}

	// The arguments, parsed as `edgecert controller` parses them.
	if len(c.Args) == 0 || c.Args[0] != "controller" {
		t.Fatalf("args %v: want the controller subcommand first", c.Args)
	}
	got2, zapLevel, unset := parseControllerArgs(t, c.Args[1:])
	// LeaderElect must be explicitly on, whatever the binary's default.
	if !slices.Contains(c.Args, "--leader-elect=true") {
		t.Errorf("args %v: want --leader-elect=true", c.Args)
	}
	if diff := cmp.Diff(want, got2, cmpopts.IgnoreFields(manager.Options{}, "GatewayService"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("the controller's options from the Deployment's args (-want +got):\n%s", diff)
	}
	if logLevel != "" && zapLevel != logLevel {
		t.Errorf("--zap-log-level %q, want %q", zapLevel, logLevel)
	}
	// The chart passes every flag (a flag added to the controller without a
	// value in values.yaml fails here); the kustomize tree only what it
	// needs, the binary's defaults being the rest.
	if logLevel != "" && len(unset) > 0 {
		t.Errorf("flags of edgecert controller the chart does not set (add them to charts/edgecert/values.yaml flags): %v", unset)
	}

	// Probes on the port the probe address binds.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	wantPorts := map[string]int32{"metrics": port(t, want.MetricsAddr), "probes": port(t, want.ProbeAddr), "http01": port(t, want.HTTP01Addr)}
	if diff := cmp.Diff(wantPorts, ports); diff != "" {
		t.Errorf("container ports against the bind addresses (-want +got):\n%s", diff)
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", name)
			continue
		}
		wantPath := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}[name]
		if p.HTTPGet.Port.String() != "probes" || p.HTTPGet.Path != wantPath {
			t.Errorf("%s probe %s on port %s, want %s on probes", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), wantPath)
		}
	}
	return &d
}

// parseControllerArgs parses args with the flags `edgecert controller`
// has (cmd/edgecert/controller.go: the manager's, --kubeconfig and zap's)
// and returns the options, the log level, and the manager's flags args
// did not set.
func parseControllerArgs(t *testing.T, args []string) (manager.Options, string, []string) {
	t.Helper()
	opts := manager.DefaultOptions()
	fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
	opts.BindFlags(fs)
	managerFlags := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) { managerFlags[f.Name] = true })
	var kubeconfig string
	fs.StringVar(&kubeconfig, "kubeconfig", "", "")
	zapOpts := zap.Options{}
	goFlags := flag.NewFlagSet("zap", flag.ContinueOnError)
	zapOpts.BindFlags(goFlags)
	fs.AddGoFlagSet(goFlags)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("edgecert controller %v: %v", args, err)
	}
	var unset []string
	for name := range managerFlags {
		if !fs.Changed(name) {
			unset = append(unset, name)
		}
	}
	sort.Strings(unset)
	level := ""
	if f := fs.Lookup("zap-log-level"); f != nil && f.Changed {
		level = f.Value.String()
	}
	return opts, level, unset
}

// checkServices: the HTTP-01 and metrics Services select the controller's
// pods and reach named container ports.
func checkServices(t *testing.T, objs []*unstructured.Unstructured, d *appsv1.Deployment) {
	t.Helper()
	container := map[string]bool{}
	for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
		container[p.Name] = true
	}
	for name, target := range map[string]string{"edgecert-http01": "http01", "edgecert-metrics": "metrics"} {
		var s corev1.Service
		named(t, objs, "Service", name, &s)
		if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Service %s selector %v does not select the controller's pods (%v)", name, s.Spec.Selector, d.Spec.Template.Labels)
		}
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].TargetPort.String() != target || !container[target] {
			t.Errorf("Service %s ports %+v: want one, to the container port %s", name, s.Spec.Ports, target)
		}
	}
	var pdb policyv1.PodDisruptionBudget
	one(t, objs, "PodDisruptionBudget", &pdb)
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("PodDisruptionBudget selector %v does not select the controller's pods", pdb.Spec.Selector)
	}
}

func one(t *testing.T, objs []*unstructured.Unstructured, kind string, into any) {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s objects rendered, want 1", len(found), kind)
	}
	convert(t, found[0], into)
}

func named(t *testing.T, objs []*unstructured.Unstructured, kind, name string, into any) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			convert(t, o, into)
			return
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
}

func convert(t *testing.T, o *unstructured.Unstructured, into any) {
	t.Helper()
	data, err := o.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

func image(d *appsv1.Deployment) string { return d.Spec.Template.Spec.Containers[0].Image }

func port(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, ok := strings.Cut(addr, ":")
	var n int32
	if _, err := fmt.Sscan(p, &n); !ok || err != nil {
		t.Fatalf("address %q has no port", addr)
	}
	return n
}

func deref(b *bool) bool { return b != nil && *b }
