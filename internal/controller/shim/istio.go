package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/pki"
)

func newIstioGateway() *unstructured.Unstructured {
	return kube.NewUnstructured(kube.IstioGatewayGVK, "", "")
}

// IstioGatewayReconciler keeps the Certificates of an annotated Istio
// Gateway, in the namespace of its gateway workload, and names the issued
// Secret in servers that have no credentialName.
type IstioGatewayReconciler struct {
	certSync
	// APIReader lists ingress gateway Services uncached (Services are
	// not cached: most are not gateways).
	APIReader client.Reader
	// Secrets reads the issued Secrets.
	Secrets kube.Secrets
	// DefaultWorkloadNamespace is used when no single gateway Service
	// selects the Gateway's pods.
	DefaultWorkloadNamespace string
}

// +kubebuilder:rbac:groups=networking.istio.io,resources=gateways,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=list
// +kubebuilder:rbac:groups=edgecert.dev,resources=gatewaypolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=edgecert.dev,resources=certificates,verbs=get;list;watch;create;update;patch;delete

// Reconcile makes the Gateway's generated Certificates match its servers
// and annotations; a Gateway that is gone or has no issuer annotation has
// none. Then, for servers without a credentialName, it names the issued
// Secret once it exists and holds a valid key pair.
func (r *IstioGatewayReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	src := ingress.Source{Kind: ingress.KindIstioGateway, Namespace: req.Namespace, Name: req.Name}
	u := newIstioGateway()
	if err := r.Client.Get(ctx, req.NamespacedName, u); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
		return result(r.sync(ctx, src, nil, nil))
	}
	if !u.GetDeletionTimestamp().IsZero() {
		return result(r.sync(ctx, src, u, nil))
	}
	issuer, ok, err := ingress.IssuerFor(u.GetAnnotations(), ingress.Options{})
	if err != nil {
		r.Events.Eventf(u, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBadAnnotation, "Reconcile", "%v", err)
		return ctrl.Result{}, nil
	}
	if !ok {
		return result(r.sync(ctx, src, u, nil))
	}
	spec, _, _ := unstructured.NestedMap(u.Object, "spec")
	gw, err := gateway.ParseGateway(u.GetNamespace(), u.GetName(), spec)
	if err != nil {
		r.Events.Eventf(u, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBadAnnotation, "Reconcile", "read Gateway spec: %v", err)
		return ctrl.Result{}, nil
	}
	ws, err := r.workloadNamespace(ctx, gw)
	if err != nil {
		return ctrl.Result{}, err
	}
	var policies edgecertv1alpha1.GatewayPolicyList
	if err := r.Client.List(ctx, &policies); err != nil {
		return ctrl.Result{}, fmt.Errorf("list GatewayPolicies: %w", err)
	}
	if why := ingress.WorkloadNamespaceRefusal(gw.Namespace, ws, gateway.WorkloadNamespaces(policies.Items, r.DefaultWorkloadNamespace), issuer); why != "" {
		r.Events.Eventf(u, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonWorkloadNamespaceNotAllowed, "Reconcile", "%s", why)
		return result(r.sync(ctx, src, u, nil))
	}
	want, err := ingress.IstioCertificates(gw, u.GetAnnotations(), ws, issuer)
	if err != nil {
		r.Events.Eventf(u, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBadAnnotation, "Reconcile", "%v", err)
		return ctrl.Result{}, nil
	}
	if ws != gw.Namespace {
		want.Certificates = slices.DeleteFunc(want.Certificates, func(c ingress.Certificate) bool {
			if !ingress.SquatsCopyName(gw.Namespace, c.Spec.SecretName) {
				return false
			}
			r.Events.Eventf(u, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonWorkloadNamespaceNotAllowed, "Reconcile",
				"credentialName %q has the shape of another namespace's GatewayService copy (<namespace>.<name>) in %s; use a name without a dot, or starting with %q", c.Spec.SecretName, ws, gw.Namespace+".")
			return true
		})
	}
	if err := r.sync(ctx, src, u, want.Certificates); err != nil {
		return result(err)
	}
	return result(r.fill(ctx, u, gw, ws, want.Fills))
}

// everyGateway maps a GatewayPolicy change to every Istio Gateway: the
// workload namespaces the platform configured may have changed.
func (r *IstioGatewayReconciler) everyGateway(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(kube.IstioGatewayGVK.GroupVersion().WithKind(kube.IstioGatewayGVK.Kind + "List"))
	if err := r.Client.List(ctx, list); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, gw := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: gw.GetNamespace(), Name: gw.GetName()}})
	}
	return reqs
}

// workloadNamespace finds where the Gateway's pods run, from the Services
// labelled with the Gateway's selector (as Istio's charts label the
// ingress gateway Service) whose pod selector includes it.
func (r *IstioGatewayReconciler) workloadNamespace(ctx context.Context, gw gateway.Gateway) (string, error) {
	var services []ingress.ServiceSelector
	if len(gw.Selector) > 0 {
		var list corev1.ServiceList
		if err := r.APIReader.List(ctx, &list, client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(gw.Selector)}); err != nil {
			return "", fmt.Errorf("list gateway Services: %w", err)
		}
		for _, svc := range list.Items {
			services = append(services, ingress.ServiceSelector{Namespace: svc.Namespace, Selector: maps.Clone(svc.Spec.Selector)})
		}
	}
	ns, why := ingress.WorkloadNamespace(gw.Namespace, gw.Selector, services, r.DefaultWorkloadNamespace)
	ctrl.LoggerFrom(ctx).V(1).Info("Gateway workload namespace", "namespace", ns, "why", why)
	return ns, nil
}

// fill sets credentialName on each server of fills whose Secret exists in
// the workload namespace and holds a valid key pair. gw is u as parsed,
// whose Servers[i] is u's /spec/servers/i. The JSON patch tests the
// resourceVersion and the server's port name first, so it changes nothing
// if the Gateway changed since it was read (optimistic concurrency), and
// touches only that one field. A server whose Secret is not there yet is
// looked at again when its Certificate changes.
func (r *IstioGatewayReconciler) fill(ctx context.Context, u *unstructured.Unstructured, gw gateway.Gateway, ws string, fills []ingress.Fill) error {
	if len(fills) == 0 {
		return nil
	}
	var ops []map[string]any
	var named []string
	for _, f := range fills {
		secret, err := r.Secrets.Get(ctx, types.NamespacedName{Namespace: ws, Name: f.SecretName})
		if err != nil {
			return fmt.Errorf("get Secret %s/%s: %w", ws, f.SecretName, err)
		}
		if secret == nil {
			continue
		}
		if _, err := pki.ParseKeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey]); err != nil {
			continue
		}
		for i, s := range gw.Servers {
			if s.Port.Name != f.PortName || s.TLS == nil || s.TLS.CredentialName != "" {
				continue
			}
			ops = append(ops,
				map[string]any{"op": "test", "path": fmt.Sprintf("/spec/servers/%d/port/name", i), "value": f.PortName},
				map[string]any{"op": "add", "path": fmt.Sprintf("/spec/servers/%d/tls/credentialName", i), "value": f.SecretName})
			named = append(named, f.PortName+"="+f.SecretName)
			break
		}
	}
	if len(ops) == 0 {
		return nil
	}
	ops = append([]map[string]any{{"op": "test", "path": "/metadata/resourceVersion", "value": u.GetResourceVersion()}}, ops...)
	data, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	if err := r.Client.Patch(ctx, u, client.RawPatch(types.JSONPatchType, data), client.FieldOwner(kube.FieldManager)); err != nil {
		// A failed test means the Gateway changed: its update event
		// brings another pass.
		return fmt.Errorf("set credentialName on Gateway %s/%s: %w", u.GetNamespace(), u.GetName(), err)
	}
	for _, n := range named {
		r.Events.Eventf(u, nil, corev1.EventTypeNormal, edgecertv1alpha1.ReasonCredentialNameSet, "Reconcile", "Set credentialName of server %s (the Secret is issued in %s)", n, ws)
	}
	return nil
}
