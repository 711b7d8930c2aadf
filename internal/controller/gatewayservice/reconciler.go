// Package gatewayservice reconciles GatewayServices: it routes each one to
// its Gateway through the GatewayPolicies, prepares its TLS Secret in the
// gateway workload namespace, and writes its one server into the shared
// Istio Gateway. Every rule (routing, rendering, istiod's checks, conflicts
// between tenants, which servers edgecert owns) lives in internal/gateway;
// this package reads, asks it, writes and reports.
package gatewayservice

import (
	"context"
	"errors"
	"fmt"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/metrics"
)

// Finalizer is the finalizer edgecert releases GatewayServices from.
// edgecert no longer adds it: what it wrote for a GatewayService (its
// server, its Secret copy) is found from the Gateway's owners annotation
// and the copy's owner annotation, and removed once the object is gone
// (Reconciler.gone), so deleting a GatewayService, or its namespace,
// never waits for edgecert, and creating one costs no finalizer write.
// GatewayServices that an older edgecert gave it are released when they
// are deleted.
const Finalizer = "edgecert.dev/gatewayservice-server"

// DefaultSecretResyncPeriod is Options.SecretResyncPeriod's default.
const DefaultSecretResyncPeriod = 2 * time.Minute

// +kubebuilder:rbac:groups=edgecert.dev,resources=gatewayservices,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=edgecert.dev,resources=gatewayservices/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=edgecert.dev,resources=gatewayservices/finalizers,verbs=update
// +kubebuilder:rbac:groups=edgecert.dev,resources=gatewaypolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=edgecert.dev,resources=certificates,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.istio.io,resources=gateways,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// Reconciler reconciles GatewayServices.
type Reconciler struct {
	// Client reads from the manager's cache and writes.
	Client client.Client
	// Cache reads Gateways as unstructured objects (so that fields of
	// hand-written servers edgecert does not know survive every write).
	Cache client.Reader
	// APIReader reads a Gateway fresh before a write.
	APIReader client.Reader
	// Secrets reads Secrets: edgecert's copies from the cache, tenants'
	// Secrets from the API server.
	Secrets kube.Secrets
	// Events records changes.
	Events events.EventRecorder
	// SecretResyncPeriod is how often a GatewayService whose TLS Secret is
	// read by secretRef (or clientCASecretRef) looks at it again
	// (Options.SecretResyncPeriod).
	SecretResyncPeriod time.Duration

	// batches groups the passes that change one Gateway (batch.go).
	batches batches
}

// scope is what the steps of one pass found.
type scope struct {
	gs  *edgecertv1alpha1.GatewayService
	key string

	target  gateway.Target
	routed  bool
	desired *gateway.Server
	// keep leaves the current server in place when desired is nil (a
	// Secret or Certificate problem, a conflict): the copy it reads is
	// still good. Otherwise a nil desired removes the server.
	keep bool

	credentialName  string
	certificateName string
	// copySecret is the Secret to write into the workload namespace
	// before the server; nil when none is needed.
	copySecret *secretCopy
	// copied is the copy this pass wrote, until an event tells it.
	copied *copyNote
	// announced: a server event told this pass's change, so Ready
	// turning True needs no event of its own.
	announced bool
	// deleted: the GatewayService is gone (Reconciler.gone); gs holds
	// only its namespace and name, and events go to the Gateway.
	deleted bool

	facts facts
}

// Reconcile runs the steps in order; the first one that cannot go on
// stops the pass. One status patch at the end reports what they found, and
// only when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	var gs edgecertv1alpha1.GatewayService
	if err := r.Client.Get(ctx, req.NamespacedName, &gs); err != nil {
		if apierrors.IsNotFound(err) {
			return r.gone(ctx, req)
		}
		return ctrl.Result{}, err
	}
	if !gs.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &gs)
	}
	before := gs.DeepCopy()
	s := &scope{gs: &gs, key: req.String(), facts: facts{generation: gs.Generation}}
	defer func() {
		if kube.IsConflict(retErr) {
			// Someone wrote the Gateway between our read and our write:
			// look again soon, quietly.
			retErr = nil
			result = kube.ConflictRequeue()
			s.facts.transient = nil
			s.facts.requeued = true
		} else if retErr != nil && !errors.Is(retErr, reconcile.TerminalError(nil)) {
			s.facts.transient = retErr
		}
		setStatus(&gs.Status, s.facts)
		r.recordCopy(s)
		r.recordTransition(before, &gs, s.announced)
		recordMetrics(&gs)
		if !apiequality.Semantic.DeepEqual(before.Status, gs.Status) {
			if err := r.Client.Status().Patch(ctx, &gs, client.MergeFrom(before), client.FieldOwner(kube.FieldManager)); err != nil && !apierrors.IsNotFound(err) {
				retErr = errors.Join(retErr, fmt.Errorf("patch status: %w", err))
			}
		}
	}()

	for _, step := range []func(context.Context, *scope) (bool, error){
		r.route,
		r.leaveOldGateway,
		r.validate,
		r.prepareTLS,
	} {
		if done, err := step(ctx, s); err != nil || done {
			if err == nil {
				err = r.applyOutcome(ctx, s)
			}
			return r.end(s, err)
		}
	}
	return r.end(s, r.applyOutcome(ctx, s))
}

// end ends a pass: a stalled GatewayService stops (kube.Stop), to be
// looked at again when what it waits for changes.
func (r *Reconciler) end(s *scope, err error) (ctrl.Result, error) {
	if err == nil && s.facts.stalled {
		return kube.Stop(errors.New(s.facts.message), r.requeue(s).RequeueAfter)
	}
	return r.requeue(s), err
}

// requeue asks to look again when a tenant Secret, which is not watched,
// is involved.
func (r *Reconciler) requeue(s *scope) ctrl.Result {
	if t := s.gs.Spec.TLS; t != nil && (t.SecretRef != nil || t.ClientCASecretRef != nil) {
		return ctrl.Result{RequeueAfter: r.SecretResyncPeriod}
	}
	return ctrl.Result{}
}

// route finds the Gateway through the GatewayPolicies. Sets Stalled
// (NoGateway, HostNotClaimed, InvalidSpec) when there is none; the
// server, if any, is then removed.
func (r *Reconciler) route(ctx context.Context, s *scope) (bool, error) {
	var policies edgecertv1alpha1.GatewayPolicyList
	if err := r.Client.List(ctx, &policies); err != nil {
		return true, fmt.Errorf("list GatewayPolicies: %w", err)
	}
	ns, err := kube.Namespace(ctx, r.Client, s.gs.Namespace)
	if err != nil {
		return true, err
	}
	target, refusal := gateway.Route(policies.Items, ns, s.gs.Spec.TrafficType, s.gs.Spec.Hosts)
	if refusal != nil {
		s.facts.fail(refusal.Reason, refusal.Message)
		return true, nil
	}
	s.target, s.routed = target, true
	return false, nil
}

// leaveOldGateway removes the server from the Gateway recorded in status
// when the GatewayService now goes to another one.
func (r *Reconciler) leaveOldGateway(ctx context.Context, s *scope) (bool, error) {
	old := s.gs.Status.Gateway
	if old == "" || old == s.target.Key() {
		return false, nil
	}
	if err := r.removeServer(ctx, s, old); err != nil {
		return true, err
	}
	s.gs.Status.Gateway = ""
	return false, nil
}

// validate renders the server and applies istiod's checks to it (the CRD
// already refuses most bad specs). Sets Stalled (InvalidSpec).
func (r *Reconciler) validate(_ context.Context, s *scope) (bool, error) {
	var errs []error
	for _, h := range s.gs.Spec.Hosts {
		errs = append(errs, gateway.ValidateHost(h))
	}
	probe := gateway.Render(s.gs.Namespace, s.gs.Name, s.gs.Spec, gateway.CredentialName(s.gs.Namespace, s.gs.Name))
	errs = append(errs, gateway.ValidateServer(probe))
	if err := errors.Join(errs...); err != nil {
		s.facts.fail(edgecertv1alpha1.ReasonInvalidSpec, err.Error())
		return true, nil
	}
	return false, nil
}

// applyOutcome writes the scope's decision into the Gateway: the desired
// server, or removal, or nothing when the current server is kept.
func (r *Reconciler) applyOutcome(ctx context.Context, s *scope) error {
	if s.desired == nil {
		if s.keep {
			return nil
		}
		gw := s.gs.Status.Gateway
		if gw == "" && s.routed {
			gw = s.target.Key()
		}
		if gw != "" {
			if err := r.removeServer(ctx, s, gw); err != nil {
				return err
			}
		}
		s.gs.Status.Gateway, s.gs.Status.PortName, s.gs.Status.Hosts, s.gs.Status.CredentialName = "", "", nil, ""
		return r.deleteCopies(ctx, s.gs, nil)
	}
	if s.copySecret != nil {
		if err := r.writeCopy(ctx, s); err != nil || s.facts.failed() {
			return err
		}
	}
	if err := r.putServer(ctx, s); err != nil {
		return err
	}
	if s.facts.failed() {
		return nil
	}
	s.gs.Status.Gateway = s.target.Key()
	s.gs.Status.PortName = s.desired.Port.Name
	s.gs.Status.Hosts = s.desired.Hosts
	s.gs.Status.CredentialName = s.credentialName
	s.gs.Status.CertificateName = s.certificateName
	s.facts.ready(fmt.Sprintf("Server %s is in Gateway %s", s.desired.Port.Name, s.target.Key()))
	// A copy the server no longer reads (another source, another
	// workload namespace) goes.
	return r.deleteCopies(ctx, s.gs, s.copySecret)
}

// finalize runs when the GatewayService's deletion has started but a
// finalizer holds it (an older edgecert's, or someone else's): its server
// goes from every Gateway it may be in, and its Secret copy, at once, and
// edgecert's old finalizer is released.
func (r *Reconciler) finalize(ctx context.Context, gs *edgecertv1alpha1.GatewayService) (ctrl.Result, error) {
	s := &scope{gs: gs, key: client.ObjectKeyFromObject(gs).String()}
	gateways := map[string]bool{}
	if gs.Status.Gateway != "" {
		gateways[gs.Status.Gateway] = true
	}
	if done, err := r.route(ctx, s); err != nil {
		return ctrl.Result{}, err
	} else if !done {
		gateways[s.target.Key()] = true
	}
	for gw := range gateways {
		if err := r.removeServer(ctx, s, gw); err != nil {
			if kube.IsConflict(err) {
				return kube.ConflictRequeue(), nil
			}
			return ctrl.Result{}, err
		}
	}
	if err := r.deleteCopies(ctx, gs, nil); err != nil {
		return ctrl.Result{}, err
	}
	if !controllerutil.ContainsFinalizer(gs, Finalizer) {
		return ctrl.Result{}, nil
	}
	base := gs.DeepCopy()
	controllerutil.RemoveFinalizer(gs, Finalizer)
	if err := r.Client.Patch(ctx, gs, client.MergeFrom(base), client.FieldOwner(kube.FieldManager)); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Removed server", "gatewayService", klog.KObj(gs))
	return ctrl.Result{}, nil
}

// gone removes what edgecert wrote for a GatewayService that no longer
// exists: its servers, found in every cached Gateway whose owners
// annotation names it, and its Secret copies, found by label and deleted
// when their owner annotation names a GatewayService of that namespace
// and name. It runs on the deletion event, and at start for what a
// GatewayService deleted while edgecert was down left behind (the
// Gateways' and the copies' first events name it). The cache may not yet
// hold a GatewayService just created, so the API server confirms that it
// is gone before anything is removed.
func (r *Reconciler) gone(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	metrics.ForgetGatewayService(req.Namespace, req.Name)
	key := req.String()
	var gateways unstructured.UnstructuredList
	gateways.SetGroupVersionKind(kube.IstioGatewayGVK.GroupVersion().WithKind(kube.IstioGatewayGVK.Kind + "List"))
	if err := r.Cache.List(ctx, &gateways); err != nil {
		return ctrl.Result{}, fmt.Errorf("list Gateways: %w", err)
	}
	var holders []string
	for i := range gateways.Items {
		gw := &gateways.Items[i]
		if owners, err := gateway.ParseOwners(gw.GetAnnotations()[gateway.OwnersAnnotation]); err == nil && len(owners.PortNamesOf(key)) > 0 {
			holders = append(holders, gw.GetNamespace()+"/"+gw.GetName())
		}
	}
	copies, err := r.orphanCopies(ctx, req.NamespacedName)
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(holders) == 0 && len(copies) == 0 {
		return ctrl.Result{}, nil
	}
	probe := &metav1.PartialObjectMetadata{}
	probe.SetGroupVersionKind(edgecertv1alpha1.GroupVersion.WithKind("GatewayService"))
	if err := r.APIReader.Get(ctx, req.NamespacedName, probe); err == nil {
		// It exists: its create event, on its way to the cache, brings
		// the pass that keeps its server.
		return ctrl.Result{}, nil
	} else if !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("get GatewayService %s: %w", key, err)
	}
	s := &scope{gs: &edgecertv1alpha1.GatewayService{ObjectMeta: metav1.ObjectMeta{Namespace: req.Namespace, Name: req.Name}}, key: key, deleted: true}
	for _, gw := range holders {
		if _, err := r.commit(ctx, s, splitKey(gw), nil); err != nil {
			if kube.IsConflict(err) {
				return kube.ConflictRequeue(), nil
			}
			return ctrl.Result{}, err
		}
	}
	for _, secret := range copies {
		if err := r.Client.Delete(ctx, secret, client.Preconditions{UID: &secret.UID}); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("delete Secret %s/%s: %w", secret.Namespace, secret.Name, err)
		}
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Removed what a deleted GatewayService left", "gatewayService", key, "gateways", holders, "copies", len(copies))
	return ctrl.Result{}, nil
}

// recordMetrics records the GatewayService's Ready status and conflict.
func recordMetrics(gs *edgecertv1alpha1.GatewayService) {
	status, conflict := "Unknown", ""
	if c := meta.FindStatusCondition(gs.Status.Conditions, edgecertv1alpha1.ReadyCondition); c != nil {
		status = string(c.Status)
		if c.Status == metav1.ConditionFalse && conflictReasons[c.Reason] {
			conflict = c.Reason
		}
	}
	metrics.SetGatewayService(gs.Namespace, gs.Name, status, conflict)
}

// conflictReasons are the reasons of a GatewayService another server
// keeps out of its Gateway.
var conflictReasons = map[string]bool{
	edgecertv1alpha1.ReasonHostConflict:     true,
	edgecertv1alpha1.ReasonPortConflict:     true,
	edgecertv1alpha1.ReasonPortNameConflict: true,
}

// recordTransition records an event when Ready changes: a Normal one when
// the server became ready (unless the pass's server event, announced,
// said so already), a Warning naming the reason otherwise. A pass that
// changes nothing records nothing.
func (r *Reconciler) recordTransition(before, after *edgecertv1alpha1.GatewayService, announced bool) {
	b := meta.FindStatusCondition(before.Status.Conditions, edgecertv1alpha1.ReadyCondition)
	a := meta.FindStatusCondition(after.Status.Conditions, edgecertv1alpha1.ReadyCondition)
	if a == nil || (b != nil && b.Status == a.Status && b.Reason == a.Reason && b.Message == a.Message) {
		return
	}
	if a.Status == metav1.ConditionTrue {
		if announced {
			return
		}
		r.Events.Eventf(after, nil, "Normal", a.Reason, "Reconcile", "%s", a.Message)
		return
	}
	if a.Reason == edgecertv1alpha1.ReasonProgressing {
		return
	}
	r.Events.Eventf(after, nil, "Warning", a.Reason, "Reconcile", "%s", a.Message)
}
