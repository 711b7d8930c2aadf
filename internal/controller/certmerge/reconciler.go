// Package certmerge reconciles CertMerges and ClusterCertMerges: it reads
// the selected TLS Secrets, merges them with internal/bundle, writes the
// bundle Secret when its content changes, and rolls the workloads that read
// it as files. Every rule lives in internal/bundle; this package gets,
// applies and reports.
package certmerge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/bundle"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/metrics"
	"github.com/edgecert/edgecert/internal/names"
	"github.com/edgecert/edgecert/internal/rollout"
)

// Labels, annotations and the finalizer CertMerge puts on what it writes.
const (
	// CertMergeLabel on a bundle Secret names its CertMerge.
	CertMergeLabel = "edgecert.dev/certmerge"
	// ClusterCertMergeLabel on a bundle Secret names its ClusterCertMerge.
	ClusterCertMergeLabel = "edgecert.dev/clustercertmerge"
	// ChecksumAnnotation holds the bundle checksum, on the bundle Secret and
	// on the pod template of each workload to roll.
	ChecksumAnnotation = "edgecert.dev/bundle-checksum"
	// OriginsAnnotation on a bundle Secret records which source Secret
	// (namespace/name/UID) each chain entry came from
	// (bundle.EncodeOrigins). It is written with the data, in the same
	// update, and is what lets a source that turns bad keep its last good
	// data: only the source the record names gets it back.
	OriginsAnnotation = "edgecert.dev/bundle-sources"
	// Finalizer makes edgecert delete the bundle with its CertMerge, also
	// where no garbage collector runs.
	Finalizer = "edgecert.dev/certmerge-bundle"
)

// +kubebuilder:rbac:groups=edgecert.dev,resources=certmerges;clustercertmerges,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=edgecert.dev,resources=certmerges/status;clustercertmerges/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=edgecert.dev,resources=certmerges/finalizers;clustercertmerges/finalizers,verbs=update
// +kubebuilder:rbac:groups=edgecert.dev,resources=certmergegrants,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// Rolling workloads needs the edgecert-rollout ClusterRole, bound per
// namespace (internal/rollout).

// mergeObject is what CertMerge and ClusterCertMerge have in common.
type mergeObject interface {
	client.Object
	BundleSecretNamespace() string
	BundleSecretName() string
	Sources() *edgecertv1alpha1.BundleSources
	MergeStatus() *edgecertv1alpha1.CertMergeStatus
	ClusterScoped() bool
}

// kind describes one of the two merge kinds.
type kind struct {
	name      string // CertMerge or ClusterCertMerge
	label     string // bundle Secret label naming the merge
	newObject func() mergeObject
	list      func(ctx context.Context, c client.Reader) ([]mergeObject, error)
}

var (
	certMergeKind = kind{
		name: "CertMerge", label: CertMergeLabel,
		newObject: func() mergeObject { return &edgecertv1alpha1.CertMerge{} },
		list: func(ctx context.Context, c client.Reader) ([]mergeObject, error) {
			var l edgecertv1alpha1.CertMergeList
			if err := c.List(ctx, &l); err != nil {
				return nil, err
			}
			return asMergeObjects(l.Items), nil
		},
	}
	clusterCertMergeKind = kind{
		name: "ClusterCertMerge", label: ClusterCertMergeLabel,
		newObject: func() mergeObject { return &edgecertv1alpha1.ClusterCertMerge{} },
		list: func(ctx context.Context, c client.Reader) ([]mergeObject, error) {
			var l edgecertv1alpha1.ClusterCertMergeList
			if err := c.List(ctx, &l); err != nil {
				return nil, err
			}
			return asMergeObjects(l.Items), nil
		},
	}
)

// asMergeObjects turns a list's items into the kind-independent view.
func asMergeObjects[T any, P interface {
	*T
	mergeObject
}](items []T) []mergeObject {
	out := make([]mergeObject, len(items))
	for i := range items {
		out[i] = P(&items[i])
	}
	return out
}

// Reconciler reconciles one merge kind.
type Reconciler struct {
	// Client reads merges and grants from the cache, and bundle Secrets
	// from the API server (the manager caches no Secret data), and writes.
	Client client.Client
	// APIReader reads source Secrets and workloads straight from the API
	// server, so they are never cached.
	APIReader client.Reader
	// Core is the core/v1 REST client, for reading a named source's type
	// without its data (a Table read).
	Core rest.Interface
	// Events records what changed.
	Events events.EventRecorder

	kind    kind
	watcher *sourceWatcher
}

// scope carries what the steps of one pass found.
type scope struct {
	obj       mergeObject
	selection bundle.Selection
	access    bundle.Access
	input     bundle.Input
	bundle    *corev1.Secret
	facts     facts
}

// forbiddenRecheck is how often a merge whose workloads edgecert may not
// roll tries again, for the RoleBinding the platform may have made since.
const forbiddenRecheck = time.Minute

// Reconcile runs the steps in order; the first error stops them. One
// deferred status patch reports what they found, and only if it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	obj := r.kind.newObject()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.watcher.SetInterest(r.interestKey(req.NamespacedName), nil)
			metrics.ForgetCertMerge(r.kind.name, req.Namespace, req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return ctrl.Result{}, r.finalize(ctx, obj)
	}
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		base := obj.DeepCopyObject().(client.Object)
		controllerutil.AddFinalizer(obj, Finalizer)
		if err := r.Client.Patch(ctx, obj, client.MergeFrom(base), client.FieldOwner(kube.FieldManager)); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
	}

	before := obj.DeepCopyObject().(mergeObject)
	s := &scope{obj: obj, facts: facts{generation: obj.GetGeneration()}}
	defer func() {
		if kube.IsConflict(retErr) {
			retErr = nil
			result = kube.ConflictRequeue()
		} else if retErr != nil && s.facts.terminal == nil {
			s.facts.transient = retErr
		}
		setStatus(obj.MergeStatus(), s.facts)
		if err := r.patchStatus(ctx, before, obj); err != nil {
			retErr = errors.Join(retErr, err)
		}
		r.recordMetrics(obj, s.facts.merged)
	}()

	for _, step := range []func(context.Context, *scope) error{
		r.reconcileSelection,
		r.reconcileSources,
		r.reconcileBundle,
		r.reconcileWorkloads,
	} {
		if err := step(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
	}
	if len(s.facts.forbiddenWorkloads) > 0 {
		// A RoleBinding sends no event: look again.
		return ctrl.Result{RequeueAfter: forbiddenRecheck}, nil
	}
	return ctrl.Result{}, nil
}

// recordMetrics records the merge's Ready status, its sources and those
// left out by reason, and, when the pass merged, the bundle's size against
// its budget.
func (r *Reconciler) recordMetrics(obj mergeObject, merged *bundle.Result) {
	st := obj.MergeStatus()
	m := metrics.CertMergeState{Ready: "Unknown", Sources: len(st.Sources), Excluded: map[string]int{}}
	if c := meta.FindStatusCondition(st.Conditions, edgecertv1alpha1.ReadyCondition); c != nil {
		m.Ready = string(c.Status)
	}
	for _, e := range st.Excluded {
		m.Excluded[e.Reason]++
	}
	if merged != nil {
		m.Bytes, m.Budget = merged.Bytes, merged.Budget.Bytes
	}
	metrics.SetCertMerge(r.kind.name, obj.GetNamespace(), obj.GetName(), m)
}

// equalStatus ignores nothing: conditions keep their transition times when
// unchanged, so an identical status means a no-op pass.
func equalStatus(a, b *edgecertv1alpha1.CertMergeStatus) bool {
	return apiequality.Semantic.DeepEqual(a, b)
}

// reconcileSelection parses the spec and decides which namespaces the merge
// may read, from its scope and the grants there; it points the source
// watcher at them. An invalid spec sets Stalled (InvalidSpec).
func (r *Reconciler) reconcileSelection(ctx context.Context, s *scope) error {
	spec := s.obj.Sources()
	if err := bundle.ValidateKeyTemplate(spec.KeyTemplate); err != nil {
		return r.terminal(s, edgecertv1alpha1.ReasonInvalidSpec, err)
	}
	sel, err := selection(s.obj)
	if err != nil {
		return r.terminal(s, edgecertv1alpha1.ReasonInvalidSpec, err)
	}
	s.selection = sel
	s.input.KeyTemplate = spec.KeyTemplate
	s.access = bundle.Access{Requester: bundle.Requester{Name: s.obj.GetName(), ClusterScoped: s.obj.ClusterScoped()}}
	if !s.obj.ClusterScoped() {
		s.access.Requester.Namespace = s.obj.GetNamespace()
		for _, ns := range sel.Namespaces() {
			if ns == s.obj.GetNamespace() {
				continue
			}
			var grants edgecertv1alpha1.CertMergeGrantList
			if err := r.Client.List(ctx, &grants, client.InNamespace(ns)); err != nil {
				return fmt.Errorf("list CertMergeGrants in %s: %w", ns, err)
			}
			for _, g := range grants.Items {
				cg := bundle.Grant{Namespace: g.Namespace, SecretNames: g.Spec.SecretNames}
				for _, f := range g.Spec.From {
					cg.From = append(cg.From, bundle.GrantFrom{Namespace: f.Namespace, Name: f.Name})
				}
				s.access.Grants = append(s.access.Grants, cg)
			}
		}
	}
	var readable []string
	for _, ns := range sel.Namespaces() {
		if s.access.MayReadNamespace(ns) {
			readable = append(readable, ns)
		}
	}
	r.watcher.SetInterest(r.interestKey(client.ObjectKeyFromObject(s.obj)), readable)
	return nil
}

// reconcileSources reads the selected Secrets straight from the API server:
// by name, and by label selector with a field selector on the TLS type.
// Secrets it may not read are recorded as refused, never read; a named
// Secret of another type is refused without its data being read.
func (r *Reconciler) reconcileSources(ctx context.Context, s *scope) error {
	in, err := sourceReader{API: r.APIReader, Core: r.Core}.read(ctx, s.selection, s.access)
	if err != nil {
		return err
	}
	s.input.Sources, s.input.Missing, s.input.Refused = in.Sources, in.Missing, in.Refused
	return nil
}

// reconcileBundle merges the sources and writes the bundle Secret, whole,
// only when its content differs from what is there. A Secret of that name
// that edgecert did not make for this merge is left alone: Stalled
// (SecretNotOwned).
func (r *Reconciler) reconcileBundle(ctx context.Context, s *scope) error {
	key := types.NamespacedName{Namespace: s.obj.BundleSecretNamespace(), Name: s.obj.BundleSecretName()}
	secrets := kube.Secrets{Cached: r.Client, Uncached: r.APIReader}
	current, err := secrets.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("get bundle Secret %s: %w", key, err)
	}
	if current != nil && !metav1.IsControlledBy(current, s.obj) {
		return r.terminal(s, edgecertv1alpha1.ReasonSecretNotOwned,
			fmt.Errorf("Secret %s exists and was not made by edgecert for this %s; delete it or choose another secretName", key, r.kind.name))
	}
	if current != nil {
		s.input.Current = current.Data
		origins, err := bundle.ParseOrigins(current.Annotations[OriginsAnnotation])
		if err != nil {
			// Trust no entry: no source keeps last good data this pass.
			ctrl.LoggerFrom(ctx).Info("Ignoring the bundle's origin record", "secret", klog.KObj(current), "error", err.Error())
		}
		s.input.CurrentOrigins = origins
	}
	res, err := bundle.Merge(s.input)
	if err != nil {
		return r.terminal(s, edgecertv1alpha1.ReasonInvalidSpec, err)
	}
	s.facts.merged = &res

	desired := r.desiredBundle(s.obj, current, key, res)
	if current != nil && bundleUpToDate(current, desired) {
		s.bundle = current
		return nil
	}
	opts := client.FieldOwner(kube.FieldManager)
	if current == nil {
		err = r.Client.Create(ctx, desired, opts)
	} else {
		err = r.Client.Update(ctx, desired, opts)
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		return kube.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("write bundle Secret %s: %w", key, err)
	}
	s.bundle = desired
	ctrl.LoggerFrom(ctx).Info("Wrote bundle Secret", "secret", klog.KObj(desired), "sources", len(res.Included), "checksum", res.Checksum)
	r.Events.Eventf(s.obj, desired, corev1.EventTypeNormal, edgecertv1alpha1.ReasonBundleUpdated, "WriteBundle",
		"Wrote %s with %d sources (checksum %.12s)", key, len(res.Included), res.Checksum)
	return nil
}

// desiredBundle is the bundle Secret as it must be: current's metadata
// kept (others' labels and annotations survive), ours set.
func (r *Reconciler) desiredBundle(obj mergeObject, current *corev1.Secret, key types.NamespacedName, res bundle.Result) *corev1.Secret {
	desired := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	if current != nil {
		desired = current.DeepCopy()
	}
	desired.Type = corev1.SecretTypeOpaque
	desired.Data = res.Data
	desired.StringData = nil
	if desired.Labels == nil {
		desired.Labels = map[string]string{}
	}
	desired.Labels[kube.ManagedByLabel] = kube.ManagedByValue
	desired.Labels[r.kind.label] = labelValue(obj.GetName())
	if desired.Annotations == nil {
		desired.Annotations = map[string]string{}
	}
	desired.Annotations[ChecksumAnnotation] = res.Checksum
	desired.Annotations[OriginsAnnotation] = bundle.EncodeOrigins(res.Origins)
	gvk := edgecertv1alpha1.GroupVersion.WithKind(r.kind.name)
	ref := *metav1.NewControllerRef(obj, gvk)
	refs := []metav1.OwnerReference{ref}
	for _, o := range desired.OwnerReferences {
		if o.UID != ref.UID {
			refs = append(refs, o)
		}
	}
	desired.OwnerReferences = refs
	return desired
}

// bundleUpToDate compares what edgecert sets: type, data, labels,
// checksum and origin annotations and controller reference.
func bundleUpToDate(current, desired *corev1.Secret) bool {
	return current.Type == desired.Type &&
		bundle.DataEqual(current.Data, desired.Data) &&
		maps.Equal(current.Labels, desired.Labels) &&
		current.Annotations[ChecksumAnnotation] == desired.Annotations[ChecksumAnnotation] &&
		current.Annotations[OriginsAnnotation] == desired.Annotations[OriginsAnnotation] &&
		len(current.OwnerReferences) == len(desired.OwnerReferences) &&
		metav1.IsControlledBy(current, ownerOf(desired))
}

// ownerOf returns a stand-in object with the UID of secret's controller.
func ownerOf(secret *corev1.Secret) metav1.Object {
	ref := metav1.GetControllerOf(secret)
	if ref == nil {
		return &metav1.ObjectMeta{}
	}
	return &metav1.ObjectMeta{UID: ref.UID}
}

// labelValue is name when it fits a label value, else a shortened name with
// a hash, so that long CertMerge names still label their bundle uniquely.
func labelValue(name string) string {
	return names.Fit(name, "", names.MaxLabelValue)
}

// reconcileWorkloads puts the bundle checksum on each workload's pod
// template, so that consumers which read the bundle as files and do not
// watch them roll exactly when the bundle changes. A missing workload makes
// Ready False (WorkloadNotFound) and is looked at again on the next pass.
func (r *Reconciler) reconcileWorkloads(ctx context.Context, s *scope) error {
	checksum := s.facts.merged.Checksum
	for _, w := range s.obj.Sources().Workloads {
		var obj client.Object
		var template *corev1.PodTemplateSpec
		switch w.Kind {
		case "Deployment":
			d := &appsv1.Deployment{}
			obj, template = d, &d.Spec.Template
		case "StatefulSet":
			st := &appsv1.StatefulSet{}
			obj, template = st, &st.Spec.Template
		case "DaemonSet":
			ds := &appsv1.DaemonSet{}
			obj, template = ds, &ds.Spec.Template
		default:
			return r.terminal(s, edgecertv1alpha1.ReasonInvalidSpec, fmt.Errorf("workload kind %q is not Deployment, StatefulSet or DaemonSet", w.Kind))
		}
		key := types.NamespacedName{Namespace: s.obj.BundleSecretNamespace(), Name: w.Name}
		if err := r.APIReader.Get(ctx, key, obj); err != nil {
			if apierrors.IsNotFound(err) {
				s.facts.missingWorkloads = append(s.facts.missingWorkloads, w.Kind+" "+key.String())
				continue
			}
			if apierrors.IsForbidden(err) {
				s.facts.forbiddenWorkloads = append(s.facts.forbiddenWorkloads, w.Kind+" "+key.String())
				continue
			}
			return fmt.Errorf("get %s %s: %w", w.Kind, key, err)
		}
		if template.Annotations[ChecksumAnnotation] == checksum {
			continue
		}
		patch := fmt.Appendf(nil, `{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, ChecksumAnnotation, checksum)
		if err := r.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(kube.FieldManager)); err != nil {
			if apierrors.IsNotFound(err) {
				s.facts.missingWorkloads = append(s.facts.missingWorkloads, w.Kind+" "+key.String())
				continue
			}
			if apierrors.IsForbidden(err) {
				s.facts.forbiddenWorkloads = append(s.facts.forbiddenWorkloads, w.Kind+" "+key.String())
				continue
			}
			return fmt.Errorf("annotate %s %s: %w", w.Kind, key, err)
		}
		ctrl.LoggerFrom(ctx).Info("Rolled workload", "kind", w.Kind, "workload", klog.KRef(key.Namespace, key.Name), "checksum", checksum)
		r.Events.Eventf(s.obj, obj, corev1.EventTypeNormal, edgecertv1alpha1.ReasonWorkloadRolled, "RollWorkload",
			"Set %s on %s %s (checksum %.12s)", ChecksumAnnotation, w.Kind, key, checksum)
	}
	if len(s.facts.forbiddenWorkloads) > 0 {
		s.facts.workloadNamespace = s.obj.BundleSecretNamespace()
		ready := meta.FindStatusCondition(s.obj.MergeStatus().Conditions, edgecertv1alpha1.ReadyCondition)
		if ready == nil || ready.Reason != edgecertv1alpha1.ReasonWorkloadForbidden {
			r.Events.Eventf(s.obj, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonWorkloadForbidden, "RollWorkload",
				"%s", rollout.ForbiddenMessage(s.facts.forbiddenWorkloads, s.facts.workloadNamespace))
		}
	}
	return nil
}

// finalize deletes the bundle Secret (if this merge made it), forgets the
// merge's namespaces and removes the finalizer. Workloads keep their
// annotation: removing it would roll them for nothing.
func (r *Reconciler) finalize(ctx context.Context, obj mergeObject) error {
	key := types.NamespacedName{Namespace: obj.BundleSecretNamespace(), Name: obj.BundleSecretName()}
	r.watcher.SetInterest(r.interestKey(client.ObjectKeyFromObject(obj)), nil)
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		return nil
	}
	secret, err := kube.Secrets{Cached: r.Client, Uncached: r.APIReader}.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("get bundle Secret %s: %w", key, err)
	}
	if secret != nil && metav1.IsControlledBy(secret, obj) {
		if err := r.Client.Delete(ctx, secret, client.Preconditions{UID: &secret.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete bundle Secret %s: %w", key, err)
		}
		ctrl.LoggerFrom(ctx).Info("Deleted bundle Secret", "secret", klog.KObj(secret))
	}
	base := obj.DeepCopyObject().(client.Object)
	controllerutil.RemoveFinalizer(obj, Finalizer)
	if err := r.Client.Patch(ctx, obj, client.MergeFrom(base)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	return nil
}

// terminal records an error a person must fix and stops the pass without
// a retry; a change to the merge or its sources starts the next one.
func (r *Reconciler) terminal(s *scope, reason string, err error) error {
	s.facts.terminal, s.facts.terminalReason = err, reason
	return reconcile.TerminalError(err)
}

// patchStatus sends one merge patch of the status, only if it changed, and
// warns by event when the sources left out or the collisions changed.
func (r *Reconciler) patchStatus(ctx context.Context, before, after mergeObject) error {
	b, a := before.MergeStatus(), after.MergeStatus()
	if equalStatus(b, a) {
		return nil
	}
	if excludedChanged(b.Excluded, a.Excluded) && len(a.Excluded) > 0 {
		r.Events.Eventf(after, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonSourcesExcluded, "MergeSources",
			"%d selected sources are left out or stale: see status.excluded", len(a.Excluded))
	}
	if tooLarge, changed := tooLargeChanged(b.Excluded, a.Excluded); changed && len(tooLarge) > 0 {
		r.Events.Eventf(after, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonBundleTooLarge, "MergeSources",
			"%d sources left out, the bundle would pass its size budget of %d bytes: %s", len(tooLarge), bundle.DefaultBudget.Bytes, listSome(tooLarge, 10))
	}
	if err := r.Client.Status().Patch(ctx, after, client.MergeFrom(before), client.FieldOwner(kube.FieldManager)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patch status: %w", err)
	}
	return nil
}

func (r *Reconciler) interestKey(key types.NamespacedName) interestKey {
	return interestKey{kind: r.kind.name, namespace: key.Namespace, name: key.Name}
}

// selection builds a merge's Selection from its spec.
func selection(obj mergeObject) (bundle.Selection, error) {
	spec := obj.Sources()
	names := make([]bundle.Ref, 0, len(spec.Secrets))
	for _, s := range spec.Secrets {
		names = append(names, bundle.Ref{Namespace: s.Namespace, Name: s.Name})
	}
	sels := make([]bundle.SelectorSpec, 0, len(spec.Selectors))
	for _, s := range spec.Selectors {
		sels = append(sels, bundle.SelectorSpec{Namespaces: s.Namespaces, LabelSelector: s.LabelSelector})
	}
	return bundle.NewSelection(obj.BundleSecretNamespace(), names, sels)
}

// listSome joins the first n items, and says how many more there are, so
// that an event's note stays short.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
