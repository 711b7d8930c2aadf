// Package dnszone reconciles DNSZones: it collects the hosts the gateways
// serve (Ready GatewayServices, Istio Gateways and Gateway API Gateways
// annotated edgecert.dev/publish-dns: "true", the routes and ListenerSets
// attached to the latter), lists the zone, plans with
// internal/dns/registry and applies the changes in one batch. The rules
// live in internal/dns/publish and internal/dns/registry; this package
// reads, applies and reports.
package dnszone

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/controller/shim"
	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/providers"
	"github.com/edgecert/edgecert/internal/dns/publish"
	"github.com/edgecert/edgecert/internal/dns/registry"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/metrics"
)

// +kubebuilder:rbac:groups=edgecert.dev,resources=dnszones,verbs=get;list;watch
// +kubebuilder:rbac:groups=edgecert.dev,resources=dnszones/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=edgecert.dev,resources=gatewayservices,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.istio.io,resources=gateways,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// DefaultResyncPeriod is how often a zone is listed and repaired without a
// change in the cluster.
const DefaultResyncPeriod = time.Minute

// GatewayServiceKind and IstioGatewayKind name sources in ownership
// records' resource label, as external-dns's sources name theirs
// ("gateway/<namespace>/<name>" is its istio-gateway source's).
const (
	GatewayServiceKind = "gatewayservice"
	IstioGatewayKind   = "gateway"
)

// Reconciler reconciles DNSZones.
type Reconciler struct {
	// Cache reads GatewayServices, Istio Gateways and Services.
	Cache client.Reader
	// Client reads and patches DNSZones.
	Client client.Client
	// Secrets reads provider credentials from Namespace.
	Secrets   kube.Secrets
	Namespace string
	Events    events.EventRecorder
	// NewZone builds the provider of a zone; nil: newZone.
	NewZone func(ctx context.Context, spec edgecertv1alpha1.DNSZoneProvider, secrets kube.Secrets, namespace string) (edgedns.Zone, error)
	// GatewayAPI says which Gateway API sources are read.
	GatewayAPI GatewayAPI
	// refusedRoutes are the route hosts told as unclaimed, per zone, so
	// that each is told once while it stays unclaimed, not every resync.
	refusedRoutes shim.Warnings
}

// scope carries what the steps of one pass found.
type scope struct {
	zone     *edgecertv1alpha1.DNSZone
	provider edgedns.Zone
	aesKey   []byte
	desired  []registry.Endpoint
	filter   publish.Zone
	// objects are the sources by their resource label, for events.
	objects map[string]client.Object
	facts   facts
}

// Reconcile runs the steps in order; the first error stops them. One
// deferred status patch reports what they found, only when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	zone := &edgecertv1alpha1.DNSZone{}
	if err := r.Client.Get(ctx, req.NamespacedName, zone); err != nil {
		if apierrors.IsNotFound(err) {
			forget(req.Name)
			r.refusedRoutes.Tell(req.Name, nil, nil)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !zone.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	before := zone.DeepCopy()
	s := &scope{zone: zone, facts: facts{generation: zone.Generation}}
	resync := DefaultResyncPeriod
	if zone.Spec.ResyncPeriod != nil && zone.Spec.ResyncPeriod.Duration > 0 {
		resync = zone.Spec.ResyncPeriod.Duration
	}
	defer func() {
		if retErr != nil && s.facts.terminal == nil && s.facts.providerErr == nil {
			s.facts.transient = retErr
		}
		setStatus(&zone.Status, s.facts)
		if !apiequality.Semantic.DeepEqual(before.Status, zone.Status) {
			if err := r.Client.Status().Patch(ctx, zone, client.MergeFrom(before), client.FieldOwner(kube.FieldManager)); err != nil && !apierrors.IsNotFound(err) {
				retErr = errors.Join(retErr, fmt.Errorf("patch status: %w", err))
			}
		}
	}()
	for _, step := range []func(context.Context, *scope) error{
		r.reconcileProvider,
		r.reconcileSources,
		r.reconcileRecords,
	} {
		if err := step(ctx, s); err != nil {
			if s.facts.terminal != nil {
				return kube.Stop(err, resync)
			}
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{RequeueAfter: resync}, nil
}

// reconcileProvider builds the zone's provider from its spec and the
// Secrets it references. A missing Secret or an invalid setting is
// Stalled (InvalidSpec), looked at again at the resync period (Secrets
// are not watched).
func (r *Reconciler) reconcileProvider(ctx context.Context, s *scope) error {
	newZone := r.NewZone
	if newZone == nil {
		newZone = newZoneProvider
	}
	p, err := newZone(ctx, s.zone.Spec.Provider, r.Secrets, r.Namespace)
	if err != nil {
		if isTerminal(err) {
			s.facts.terminal = err
		}
		return err
	}
	s.provider = p
	if ref := s.zone.Spec.TXTEncryptAESKeySecretRef; ref != nil {
		v, err := r.Secrets.Value(ctx, r.Namespace, *ref)
		if err != nil {
			if isTerminal(err) {
				s.facts.terminal = err
			}
			return err
		}
		key, err := registry.AESKey(v)
		if err != nil {
			s.facts.terminal = fmt.Errorf("Secret %s/%s key %q: %w", r.Namespace, ref.Name, ref.Key, err)
			return s.facts.terminal
		}
		s.aesKey = key
	}
	return nil
}

// options are the zone's registry settings.
func (s *scope) options() registry.Options {
	policy := registry.Policy(s.zone.Spec.Policy)
	if policy == "" {
		policy = registry.Sync
	}
	return registry.Options{
		OwnerID: s.zone.Spec.OwnerID,
		Naming:  registry.Naming{Prefix: s.zone.Spec.TXTPrefix, Suffix: s.zone.Spec.TXTSuffix, WildcardReplacement: s.zone.Spec.TXTWildcardReplacement},
		Policy:  policy,
		AESKey:  s.aesKey,
	}
}

// reconcileSources reads the sources from the cache and turns their
// hosts into endpoints (publish.Endpoints): Ready GatewayServices whose
// server is in a Gateway, annotated Istio Gateways, with the target of
// each Gateway (publish.GatewayTarget), and annotated Gateway API
// Gateways with their routes and ListenerSets (gatewayAPISources).
func (r *Reconciler) reconcileSources(ctx context.Context, s *scope) error {
	var gateways unstructured.UnstructuredList
	gateways.SetGroupVersionKind(kube.IstioGatewayGVK.GroupVersion().WithKind(kube.IstioGatewayGVK.Kind + "List"))
	if err := r.Cache.List(ctx, &gateways); err != nil {
		return fmt.Errorf("list Istio Gateways: %w", err)
	}
	var services corev1.ServiceList
	if err := r.Cache.List(ctx, &services); err != nil {
		return fmt.Errorf("list Services: %w", err)
	}
	var gss edgecertv1alpha1.GatewayServiceList
	if err := r.Cache.List(ctx, &gss); err != nil {
		return fmt.Errorf("list GatewayServices: %w", err)
	}
	svcs := make([]publish.Service, 0, len(services.Items))
	for i := range services.Items {
		svc := &services.Items[i]
		ps := publish.Service{Namespace: svc.Namespace, Name: svc.Name, Selector: svc.Spec.Selector}
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if in.IP != "" {
				ps.IPs = append(ps.IPs, in.IP)
			}
			if in.Hostname != "" {
				ps.Hostnames = append(ps.Hostnames, in.Hostname)
			}
		}
		svcs = append(svcs, ps)
	}
	targets := map[string]publish.Target{}
	s.objects = map[string]client.Object{}
	var sources []publish.Source
	var skipped []publish.Skipped
	for i := range gateways.Items {
		u := &gateways.Items[i]
		key := u.GetNamespace() + "/" + u.GetName()
		spec, _, _ := unstructured.NestedMap(u.Object, "spec")
		gw, err := gateway.ParseGateway(u.GetNamespace(), u.GetName(), spec)
		if err != nil {
			targets[key] = publish.Target{Problem: fmt.Sprintf("Gateway %s cannot be read: %v", key, err)}
			continue
		}
		if len(s.zone.Spec.Targets) == 0 {
			targets[key] = publish.GatewayTarget(gw.Selector, svcs)
		}
		if u.GetAnnotations()[edgecertv1alpha1.PublishDNSAnnotation] != "true" {
			continue
		}
		src := publish.Source{Resource: IstioGatewayKind + "/" + key, Gateway: key}
		s.objects[src.Resource] = u
		for _, srv := range gw.Servers {
			src.Hosts = append(src.Hosts, srv.Hosts...)
		}
		ttl, problem := ttlOf(u.GetAnnotations())
		if problem != "" {
			skipped = append(skipped, publish.Skipped{Resource: src.Resource, Reason: problem})
			continue
		}
		src.TTL = ttl
		sources = append(sources, src)
	}
	for i := range gss.Items {
		gs := &gss.Items[i]
		if !inGateway(gs) {
			continue
		}
		src := publish.Source{Resource: GatewayServiceKind + "/" + gs.Namespace + "/" + gs.Name, Gateway: gs.Status.Gateway, Hosts: gs.Status.Hosts}
		s.objects[src.Resource] = gs
		ttl, problem := ttlOf(gs.Annotations)
		if problem != "" {
			skipped = append(skipped, publish.Skipped{Resource: src.Resource, Reason: problem})
			continue
		}
		src.TTL = ttl
		sources = append(sources, src)
	}
	apiSources, apiSkipped, err := r.gatewayAPISources(ctx, s, targets)
	if err != nil {
		return err
	}
	sources = append(sources, apiSources...)
	skipped = append(skipped, apiSkipped...)
	z := publish.Zone{Name: s.zone.Spec.Zone, TTL: uint32(s.zone.Spec.TTL), Targets: s.zone.Spec.Targets}
	if z.TTL == 0 {
		z.TTL = 300
	}
	if d := s.zone.Spec.Domains; d != nil {
		z.Include, z.Exclude = d.Include, d.Exclude
	}
	eps, sk := publish.Endpoints(z, sources, targets)
	s.desired = eps
	s.filter = z
	s.facts.skipped = slices.Concat(skipped, sk)
	return nil
}

// inGateway reports whether a GatewayService's server is in its Gateway:
// Ready for its current generation, with the Gateway and hosts it landed
// under in status.
func inGateway(gs *edgecertv1alpha1.GatewayService) bool {
	c := meta.FindStatusCondition(gs.Status.Conditions, edgecertv1alpha1.ReadyCondition)
	return c != nil && c.Status == "True" && c.ObservedGeneration == gs.Generation && gs.Status.Gateway != "" && len(gs.Status.Hosts) > 0
}

// ttlOf reads the edgecert.dev/dns-ttl annotation: 0 when unset.
func ttlOf(annotations map[string]string) (uint32, string) {
	v, ok := annotations[edgecertv1alpha1.DNSTTLAnnotation]
	if !ok {
		return 0, ""
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil || n == 0 || n > 604800 {
		return 0, fmt.Sprintf("annotation %s=%q is not a TTL in seconds (1 to 604800); its hosts are not published", edgecertv1alpha1.DNSTTLAnnotation, v)
	}
	return uint32(n), ""
}

// reconcileRecords lists the zone, plans and applies the changes in one
// batch. A provider failure is Ready=False (DNSProviderError) with the
// provider's words, and the workqueue backs off; nothing is lost, since
// the next pass plans again from a fresh list.
func (r *Reconciler) reconcileRecords(ctx context.Context, s *scope) error {
	name := s.zone.Name
	current, err := s.provider.Records(ctx, s.zone.Spec.Zone)
	if err != nil {
		return r.providerError(s, err)
	}
	// Address records outside the zone's domains are not this zone's to
	// plan; ownership records all stay, they say who owns what.
	current = slices.DeleteFunc(current, func(r registry.Record) bool {
		return r.Type != registry.TypeTXT && !s.filter.Manages(r.Name)
	})
	plan := registry.Plan(current, s.desired, s.options())
	if len(plan.Changes) > 0 {
		if err := s.provider.ApplyChanges(ctx, s.zone.Spec.Zone, plan.Changes); err != nil {
			return r.providerError(s, err)
		}
		counts := map[registry.Action]int{}
		for _, c := range plan.Changes {
			counts[c.Action]++
			metrics.DNSChanges.WithLabelValues(name, string(c.Action)).Inc()
		}
		ctrl.LoggerFrom(ctx).Info("Changed records", "zone", s.zone.Spec.Zone, "created", counts[registry.Create], "updated", counts[registry.Update], "deleted", counts[registry.Delete])
		r.Events.Eventf(s.zone, nil, corev1.EventTypeNormal, edgecertv1alpha1.ReasonDNSRecordsChanged, "ApplyChanges",
			"Created %d, updated %d and deleted %d RRsets (ownership records included)", counts[registry.Create], counts[registry.Update], counts[registry.Delete])
		r.sourceEvents(s, plan.Changes)
	}
	s.facts.plan = &plan
	byType := map[string]int32{}
	for _, rec := range plan.Owned {
		byType[rec.Type]++
	}
	for _, typ := range []string{registry.TypeA, registry.TypeAAAA, registry.TypeCNAME} {
		metrics.DNSRecords.WithLabelValues(name, typ).Set(float64(byType[typ]))
	}
	metrics.DNSOwnerConflicts.WithLabelValues(name).Set(float64(len(plan.Conflicts)))
	return nil
}

func (r *Reconciler) providerError(s *scope, err error) error {
	metrics.DNSSyncErrors.WithLabelValues(s.zone.Name).Inc()
	s.facts.providerErr = err
	return err
}

// forget drops a deleted zone's gauges.
func forget(zone string) {
	for _, typ := range []string{registry.TypeA, registry.TypeAAAA, registry.TypeCNAME} {
		metrics.DNSRecords.DeleteLabelValues(zone, typ)
	}
	metrics.DNSOwnerConflicts.DeleteLabelValues(zone)
}

func isTerminal(err error) bool { return errors.Is(err, reconcile.TerminalError(nil)) }

// newZoneProvider builds the provider a zone names, reading its Secrets
// from namespace.
func newZoneProvider(ctx context.Context, spec edgecertv1alpha1.DNSZoneProvider, secrets kube.Secrets, namespace string) (edgedns.Zone, error) {
	p, err := providers.New(ctx, spec.RFC2136, spec.Route53, secrets, namespace)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, reconcile.TerminalError(errors.New("the DNSZone names no provider"))
	}
	return p, nil
}

// sourceEvents tells each source that still exists which of its records a
// pass published or removed: one event per source and kind of change. The
// source of a published record is the endpoint that asked for it; of a
// removed one, its ownership record's resource label.
func (r *Reconciler) sourceEvents(s *scope, changes []registry.Change) {
	resourceOf := map[string]string{}
	for _, e := range s.desired {
		resourceOf[dnsKey(e.Name, e.Type)] = e.Resource
	}
	removedBy := map[string]string{}
	for _, c := range changes {
		if c.Action == registry.Delete && c.Old.Type == registry.TypeTXT && len(c.Old.Values) > 0 {
			if l, ok := s.options().Labels(c.Old.Values[0]); ok {
				removedBy[c.Old.Name] = l[registry.ResourceLabel]
			}
		}
	}
	naming := s.options().Naming
	published, removed := map[string][]string{}, map[string][]string{}
	for _, c := range changes {
		switch {
		case c.New != nil && c.New.Type != registry.TypeTXT:
			res := resourceOf[dnsKey(c.New.Name, c.New.Type)]
			published[res] = append(published[res], registry.Describe(*c.New))
		case c.Action == registry.Delete && c.Old.Type != registry.TypeTXT:
			res := removedBy[naming.TXTName(c.Old.Name, c.Old.Type)]
			removed[res] = append(removed[res], strings.TrimSuffix(c.Old.Name, ".")+" "+c.Old.Type)
		}
	}
	emit := func(by map[string][]string, reason, verb string) {
		for res, recs := range by {
			obj := s.objects[res]
			if obj == nil {
				continue
			}
			more := ""
			if len(recs) > 10 {
				more = fmt.Sprintf(" and %d more", len(recs)-10)
				recs = recs[:10]
			}
			r.Events.Eventf(obj, s.zone, corev1.EventTypeNormal, reason, "ApplyChanges", "%s %s%s in DNSZone %s", verb, strings.Join(recs, "; "), more, s.zone.Name)
		}
	}
	emit(published, edgecertv1alpha1.ReasonDNSRecordsPublished, "Published")
	emit(removed, edgecertv1alpha1.ReasonDNSRecordsRemoved, "Removed")
}

func dnsKey(name, typ string) string { return edgedns.Fqdn(name) + " " + typ }
