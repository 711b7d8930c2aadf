package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/edgecert/edgecert/internal/scheme"
)

// ControlPlane is a real kube-apiserver and etcd (built by `make tools`),
// started through envtest with edgecert's, Istio's and Gateway API's CRDs.
type ControlPlane struct {
	// Config reaches the API server as a cluster admin.
	Config *rest.Config
	// Client is a cluster-admin client with edgecert's scheme.
	Client client.Client
	// Kubeconfig is the path of a kubeconfig file for the same admin user.
	Kubeconfig string

	env      *envtest.Environment
	dir      string
	auditLog string // empty unless ControlPlaneOptions.Audit
}

// CRDPaths lists every CRD source the test bed installs: config/crd (ours),
// Istio's CRDs from the istio.io/api module and Gateway API's standard CRDs
// from sigs.k8s.io/gateway-api, at the versions go.mod pins.
func CRDPaths() ([]string, error) {
	istioDir, err := moduleDir("istio.io/api")
	if err != nil {
		return nil, err
	}
	gatewayDir, err := moduleDir("sigs.k8s.io/gateway-api")
	if err != nil {
		return nil, err
	}
	return []string{
		filepath.Join(RepoRoot(), "config", "crd", "bases"),
		filepath.Join(istioDir, "kubernetes", "customresourcedefinitions.gen.yaml"),
		filepath.Join(gatewayDir, "config", "crd", "standard"),
	}, nil
}

// ControlPlaneOptions choose how the API server runs.
type ControlPlaneOptions struct {
	// Audit makes the API server log every write (create, update, patch,
	// delete, deletecollection) at Metadata level, and nothing else, so that
	// a test can count the writes a controller makes (AuditWrites). Off by
	// default: an audited API server writes a line per request.
	Audit bool
	// CertManagerCRDs installs cert-manager's CRDs too, from its module
	// at the version go.mod pins: for migration tests.
	CertManagerCRDs bool
	// GatewayAPIExperimental installs, instead of the standard-channel
	// Gateway API CRDs of the version go.mod pins, the experimental
	// channel of Gateway API v1.4.1 (hack/crds/gateway-api-experimental
	// pins it), where ListenerSet is still
	// gateway.networking.x-k8s.io/v1alpha1 XListenerSet: the API server
	// of a cluster that installed those.
	GatewayAPIExperimental bool
}

// gatewayAPIExperimentalCRDs is the directory of the experimental-channel
// CRDs of the Gateway API release hack/crds/gateway-api-experimental
// pins, downloaded through the Go module proxy (checked against that
// module's go.sum) when the module cache lacks it.
func gatewayAPIExperimentalCRDs() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "sigs.k8s.io/gateway-api")
	cmd.Dir = filepath.Join(RepoRoot(), "hack", "crds", "gateway-api-experimental")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("download the Gateway API module %s pins: %w: %s %s", cmd.Dir, err, out, stderr)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", fmt.Errorf("read go mod download's answer %q: %w", out, err)
	}
	if mod.Dir == "" {
		return "", fmt.Errorf("go mod download in %s gave no directory: %s", cmd.Dir, mod.Error)
	}
	return filepath.Join(mod.Dir, "config", "crd", "experimental"), nil
}

// certManagerCRDs is the directory of cert-manager's CRDs in its module,
// at the version go.mod pins (internal/migrate reads its API types).
func certManagerCRDs() (string, error) {
	dir, err := moduleDir("github.com/cert-manager/cert-manager")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "deploy", "crds"), nil
}

// StartControlPlane starts kube-apiserver and etcd on free loopback ports and
// installs the CRDs, without audit. Stop it with Stop.
func StartControlPlane() (*ControlPlane, error) {
	return StartControlPlaneWith(ControlPlaneOptions{})
}

// StartControlPlaneWith is StartControlPlane with options.
func StartControlPlaneWith(opts ControlPlaneOptions) (*ControlPlane, error) {
	apiserver, err := toolPath("kube-apiserver", "KUBERNETES_VERSION")
	if err != nil {
		return nil, err
	}
	etcd, err := toolPath("etcd", "ETCD_VERSION")
	if err != nil {
		return nil, err
	}
	crds, err := CRDPaths()
	if err != nil {
		return nil, err
	}
	if opts.GatewayAPIExperimental {
		dir, err := gatewayAPIExperimentalCRDs()
		if err != nil {
			return nil, err
		}
		// In place of the standard channel's.
		i := slices.IndexFunc(crds, func(p string) bool { return strings.HasSuffix(p, filepath.Join("config", "crd", "standard")) })
		if i < 0 {
			return nil, errors.New("no standard-channel Gateway API CRDs among CRDPaths to replace")
		}
		crds[i] = dir
	}
	if opts.CertManagerCRDs {
		dir, err := certManagerCRDs()
		if err != nil {
			return nil, err
		}
		crds = append(crds, dir)
	}
	dir, err := os.MkdirTemp("", "edgecert-kube-")
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		Scheme:                   scheme.New(),
		CRDDirectoryPaths:        crds,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	env.ControlPlane.APIServer = &envtest.APIServer{Path: apiserver}
	env.ControlPlane.Etcd = &envtest.Etcd{Path: etcd}
	// An idle envtest etcd on two cores: no need to fsync every write.
	env.ControlPlane.Etcd.Configure().Append("unsafe-no-fsync", "true")
	cp := &ControlPlane{env: env, dir: dir}
	if opts.Audit {
		if err := cp.configureAudit(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}

	cfg, err := env.Start()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	cp.Config = cfg
	if cp.Client, err = client.New(cfg, client.Options{Scheme: env.Scheme}); err != nil {
		cp.Stop()
		return nil, err
	}
	cp.Kubeconfig = filepath.Join(cp.dir, "kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, env.KubeConfig, 0o600); err != nil {
		cp.Stop()
		return nil, err
	}
	return cp, nil
}

// CreateNamespace makes a namespace with a generated name starting with
// prefix, so that tests sharing one control plane do not collide.
func (cp *ControlPlane) CreateNamespace(ctx context.Context, prefix string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: strings.TrimSuffix(prefix, "-") + "-"}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		return "", fmt.Errorf("create namespace: %w", err)
	}
	return ns.Name, nil
}

// EventNotes returns the notes of the events of reason about obj (their
// regarding object), oldest first.
func (cp *ControlPlane) EventNotes(ctx context.Context, obj client.Object, reason string) ([]string, error) {
	var list eventsv1.EventList
	if err := cp.Client.List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	slices.SortFunc(list.Items, func(a, b eventsv1.Event) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	var notes []string
	for _, e := range list.Items {
		if e.Regarding.UID == obj.GetUID() && e.Reason == reason {
			notes = append(notes, e.Note)
		}
	}
	return notes, nil
}

// UserConfig reaches the API server as user name, in no group and bound to
// no role: RBAC refuses it everything, so that a test sees what code does
// when the API server answers Forbidden.
func (cp *ControlPlane) UserConfig(name string) (*rest.Config, error) {
	u, err := cp.env.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		return nil, fmt.Errorf("add user %s: %w", name, err)
	}
	return u.Config(), nil
}

// RESTMapper is a fresh mapper of the kinds the API server serves, as the
// manager builds one (a kind's CRDs installed or not).
func (cp *ControlPlane) RESTMapper(tb testing.TB) meta.RESTMapper {
	tb.Helper()
	hc, err := rest.HTTPClientFor(cp.Config)
	if err != nil {
		tb.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cp.Config, hc)
	if err != nil {
		tb.Fatal(err)
	}
	return mapper
}

// Stop ends the API server and etcd and removes their data.
func (cp *ControlPlane) Stop() {
	if cp.env != nil {
		_ = cp.env.Stop()
	}
	if cp.dir != "" {
		os.RemoveAll(cp.dir)
	}
}
