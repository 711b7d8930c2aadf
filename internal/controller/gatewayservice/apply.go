package gatewayservice

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/kube"
)

// newGateway is an empty Istio Gateway (see kube.IstioGatewayGVK).
func newGateway() *unstructured.Unstructured {
	return kube.NewUnstructured(kube.IstioGatewayGVK, "", "")
}

func splitKey(key string) types.NamespacedName {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return types.NamespacedName{Namespace: key[:i], Name: key[i+1:]}
		}
	}
	return types.NamespacedName{Name: key}
}

// plan is one GatewayService's part of a Gateway's plan: its conflict
// (the current server stays), whether the plan changes its server, and
// whether it had one.
type plan struct {
	changed   bool
	hadServer bool
	conflict  *gateway.Conflict
}

// splitServers reads gw's servers: the raw entries, the owners
// annotation, the hand-written servers, and edgecert's current server of
// each GatewayService (by "namespace/name").
func splitServers(gw *unstructured.Unstructured) ([]any, gateway.Owners, []gateway.Server, map[string]*gateway.Server, error) {
	raw, _, err := unstructured.NestedSlice(gw.Object, "spec", "servers")
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("Gateway %s/%s: spec.servers: %w", gw.GetNamespace(), gw.GetName(), err)
	}
	owners, err := gateway.ParseOwners(gw.GetAnnotations()[gateway.OwnersAnnotation])
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("Gateway %s/%s: %w", gw.GetNamespace(), gw.GetName(), err)
	}
	var hand []gateway.Server
	currents := map[string]*gateway.Server{}
	for _, e := range raw {
		srv, _ := gateway.ParseServer(e)
		if k, ok := owners[gateway.RawPortName(e)]; ok {
			if currents[k] == nil {
				currents[k] = &srv
			}
			continue
		}
		hand = append(hand, srv)
	}
	return raw, owners, hand, currents, nil
}

// neighbours are the servers of the other Istio Gateways whose selector
// may pick the same gateway pods as gw's (gateway.MaySharePods), except
// the transient HTTP-01 challenge Gateways edgecert makes for
// Certificates.
func (r *Reconciler) neighbours(ctx context.Context, gw *unstructured.Unstructured) ([]gateway.Neighbour, error) {
	spec, _, _ := unstructured.NestedMap(gw.Object, "spec")
	target, err := gateway.ParseGateway(gw.GetNamespace(), gw.GetName(), spec)
	if err != nil {
		return nil, fmt.Errorf("Gateway %s/%s: %w", gw.GetNamespace(), gw.GetName(), err)
	}
	var list unstructured.UnstructuredList
	list.SetGroupVersionKind(kube.IstioGatewayGVK.GroupVersion().WithKind(kube.IstioGatewayGVK.Kind + "List"))
	if err := r.Cache.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list Istio Gateways: %w", err)
	}
	var out []gateway.Neighbour
	for i := range list.Items {
		u := &list.Items[i]
		if u.GetNamespace() == gw.GetNamespace() && u.GetName() == gw.GetName() || challengeGateway(u) {
			continue
		}
		spec, _, _ := unstructured.NestedMap(u.Object, "spec")
		other, err := gateway.ParseGateway(u.GetNamespace(), u.GetName(), spec)
		if err != nil || !gateway.MaySharePods(target.Selector, other.Selector) {
			continue
		}
		for _, srv := range other.Servers {
			out = append(out, gateway.Neighbour{Gateway: u.GetNamespace() + "/" + u.GetName(), Server: srv})
		}
	}
	return out, nil
}

// challengeGateway reports whether u is a Gateway edgecert made for one
// Certificate's HTTP-01 challenges (controlled by the Certificate): it
// lives for seconds and routes only /.well-known/acme-challenge/.
func challengeGateway(u *unstructured.Unstructured) bool {
	ref := metav1.GetControllerOf(u)
	return ref != nil && ref.Kind == "Certificate" && strings.HasPrefix(ref.APIVersion, edgecertv1alpha1.GroupVersion.Group+"/")
}

// contenders adds to all the other GatewayServices whose servers could
// clash with desired: those on the same port number or with the same
// port name (found through field indexes), and every server edgecert
// already has in the Gateway. Each one's desired server counts only when
// it is valid, its hosts are claimed and it goes to the same Gateway.
// ports and names record the indexes already listed: a batch lists each
// port once, and plans each GatewayService once.
func (r *Reconciler) contenders(ctx context.Context, gatewayKey string, desired *gateway.Server, currents map[string]*gateway.Server, all map[string]gateway.Contender, ports map[int32]bool, names map[string]bool) error {
	var lists [][]edgecertv1alpha1.GatewayService
	if port := int32(desired.Port.Number); !ports[port] {
		ports[port] = true
		var byPort edgecertv1alpha1.GatewayServiceList
		if err := r.Client.List(ctx, &byPort, client.MatchingFields{portIndex: strconv.Itoa(int(port))}, client.UnsafeDisableDeepCopy); err != nil {
			return fmt.Errorf("list GatewayServices: %w", err)
		}
		lists = append(lists, byPort.Items)
	}
	if !names[desired.Port.Name] {
		names[desired.Port.Name] = true
		var byName edgecertv1alpha1.GatewayServiceList
		if err := r.Client.List(ctx, &byName, client.MatchingFields{portNameIndex: desired.Port.Name}, client.UnsafeDisableDeepCopy); err != nil {
			return fmt.Errorf("list GatewayServices: %w", err)
		}
		lists = append(lists, byName.Items)
	}
	var policies edgecertv1alpha1.GatewayPolicyList
	if err := r.Client.List(ctx, &policies, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("list GatewayPolicies: %w", err)
	}
	namespaces := map[string]gateway.Namespace{}
	for _, list := range lists {
		for i := range list {
			o := &list[i]
			key := o.Namespace + "/" + o.Name
			if _, seen := all[key]; seen {
				continue
			}
			c := gateway.Contender{Key: key, Created: o.CreationTimestamp.Time, Current: currents[key]}
			if o.DeletionTimestamp.IsZero() {
				ns, ok := namespaces[o.Namespace]
				if !ok {
					var err error
					if ns, err = kube.Namespace(ctx, r.Client, o.Namespace); err != nil {
						return err
					}
					namespaces[o.Namespace] = ns
				}
				c.Desired = desiredOf(o, policies.Items, ns, gatewayKey)
			}
			all[key] = c
		}
	}
	for key, cur := range currents {
		if _, seen := all[key]; !seen {
			all[key] = gateway.Contender{Key: key, Current: cur}
		}
	}
	return nil
}

// desiredOf is the server another GatewayService claims in gatewayKey, or
// nil when it claims nothing there. Its TLS source does not matter: a
// GatewayService waiting for its certificate keeps its claim.
func desiredOf(o *edgecertv1alpha1.GatewayService, policies []edgecertv1alpha1.GatewayPolicy, ns gateway.Namespace, gatewayKey string) *gateway.Server {
	for _, h := range o.Spec.Hosts {
		if gateway.ValidateHost(h) != nil {
			return nil
		}
	}
	t, refusal := gateway.Route(policies, ns, o.Spec.TrafficType, o.Spec.Hosts)
	if refusal != nil || t.Key() != gatewayKey {
		return nil
	}
	srv := gateway.Render(o.Namespace, o.Name, o.Spec, gateway.CredentialName(o.Namespace, o.Name))
	if gateway.ValidateServer(srv) != nil {
		return nil
	}
	return &srv
}

// putServer writes s.desired into the target Gateway, creating the
// Gateway when the policy allows it. The write goes through the Gateway's
// batch (commit): planned with every pass that wants to change the Gateway
// now, written once, with the resourceVersion it was planned from. Sets
// HostConflict, PortConflict, PortNameConflict (Stalled), GatewayNotFound
// (Reconciling) or GatewayRejected.
func (r *Reconciler) putServer(ctx context.Context, s *scope) error {
	key := types.NamespacedName{Namespace: s.target.Namespace, Name: s.target.Name}
	gw := newGateway()
	if err := r.Cache.Get(ctx, key, gw); err != nil {
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("get Gateway %s: %w", key, err)
		}
		if len(s.target.Selector) == 0 {
			s.keep = true
			s.facts.wait(edgecertv1alpha1.ReasonGatewayNotFound, fmt.Sprintf("Gateway %s does not exist; GatewayPolicy %s does not let edgecert create it (no selector)", key, s.target.Policy))
			return nil
		}
		return r.createGateway(ctx, s)
	}
	q, err := r.commit(ctx, s, key, s.desired)
	if err != nil {
		return err
	}
	if q.rejected != "" {
		s.keep = true
		s.facts.fail(edgecertv1alpha1.ReasonGatewayRejected, q.rejected)
		return nil
	}
	r.accept(s, q.result)
	return nil
}

// accept records a conflict; the current server stays.
func (r *Reconciler) accept(s *scope, p plan) bool {
	if p.conflict == nil {
		return true
	}
	s.keep = true
	s.facts.fail(p.conflict.Reason, p.conflict.Message)
	return false
}

// removeServer takes s's server out of the Gateway gatewayKey, if it is
// there, through the Gateway's batch.
func (r *Reconciler) removeServer(ctx context.Context, s *scope, gatewayKey string) error {
	key := splitKey(gatewayKey)
	gw := newGateway()
	if err := r.Cache.Get(ctx, key, gw); err != nil {
		return client.IgnoreNotFound(err)
	}
	owners, err := gateway.ParseOwners(gw.GetAnnotations()[gateway.OwnersAnnotation])
	if err != nil {
		return fmt.Errorf("Gateway %s: %w", gatewayKey, err)
	}
	if !slices.Contains(slices.Collect(maps.Values(owners)), s.key) {
		return nil
	}
	_, err = r.commit(ctx, s, key, nil)
	return err
}

// createGateway creates the policy's Gateway with s's server as its first
// one; edgecert labels it as its own and deletes it when its last server
// goes.
func (r *Reconciler) createGateway(ctx context.Context, s *scope) error {
	gw := newGateway()
	gw.SetNamespace(s.target.Namespace)
	gw.SetName(s.target.Name)
	q := &request{s: s, desired: s.desired}
	servers, owners, err := r.planBatch(ctx, gw, []*request{q})
	if err != nil || !r.accept(s, q.result) {
		return err
	}
	var policy edgecertv1alpha1.GatewayPolicy
	if err := r.Client.Get(ctx, types.NamespacedName{Name: s.target.Policy}, &policy); err != nil {
		return fmt.Errorf("get GatewayPolicy %s: %w", s.target.Policy, err)
	}
	gw.SetLabels(map[string]string{kube.ManagedByLabel: kube.ManagedByValue})
	gw.SetAnnotations(kube.SetOwner(map[string]string{gateway.OwnersAnnotation: owners.String()}, gatewayPolicyKind, &policy))
	selector := map[string]any{}
	for k, v := range s.target.Selector {
		selector[k] = v
	}
	gw.Object["spec"] = map[string]any{"selector": selector, "servers": servers}
	if err := r.Client.Create(ctx, gw, client.FieldOwner(kube.FieldManager)); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return kube.ErrConflict
		}
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			s.keep = true
			s.facts.fail(edgecertv1alpha1.ReasonGatewayRejected, fmt.Sprintf("creating Gateway %s/%s failed: %s", s.target.Namespace, s.target.Name, err.Error()))
			return nil
		}
		return fmt.Errorf("create Gateway %s: %w", s.target.Key(), err)
	}
	r.Events.Eventf(s.gs, gw, corev1.EventTypeNormal, edgecertv1alpha1.ReasonGatewayCreated, "Reconcile", "Created Gateway %s with server %s (selector from GatewayPolicy %s)", s.target.Key(), s.desired.Port.Name, s.target.Policy)
	return nil
}

// gatewayPolicyKind is the kind recorded in a created Gateway's owner
// annotation.
const gatewayPolicyKind = "GatewayPolicy"

// createdByEdgecert reports whether edgecert created gw: its owner
// annotation names, by UID, the GatewayPolicy it was created for. Its
// label does not count (anyone who can write the Gateway can set it), so
// a Gateway an older edgecert created, which carries only the label, is
// left in place when its last server goes.
func (r *Reconciler) createdByEdgecert(ctx context.Context, gw *unstructured.Unstructured) bool {
	o, ok := kube.OwnerOf(gw)
	if !ok || o.Kind != gatewayPolicyKind {
		return false
	}
	var policy edgecertv1alpha1.GatewayPolicy
	if err := r.Client.Get(ctx, types.NamespacedName{Name: o.Name}, &policy); err != nil {
		return false
	}
	return kube.OwnedBy(gw, gatewayPolicyKind, &policy)
}
