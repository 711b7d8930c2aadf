// Package certificate reconciles Certificates: it decides (with the pure
// rules of internal/issuance) whether a certificate is needed, and drives an
// ACME order with the order state machine of internal/issuance, a few
// non-blocking steps per pass, keeping the order in status so that a
// restarted or newly elected controller resumes it.
//
// A pass is an ordered list of steps over a scope (resolve the issuer, read
// the Secret, decide, advance the order); the steps record facts, and one
// deferred status patch turns them into conditions with the pure setStatus.
package certificate

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/acme"
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/metrics"
	"github.com/edgecert/edgecert/internal/pki"
)

// Labels, annotations and the finalizer edgecert puts on Certificates and
// their Secrets.
const (
	// CertificateNameLabel names the Certificate a Secret belongs to; the
	// controller watches Secrets by it.
	CertificateNameLabel = "edgecert.dev/certificate-name"
	// IssuerNameAnnotation, IssuerKindAnnotation and DNSNamesAnnotation
	// say where the certificate came from and what it is for.
	IssuerNameAnnotation = "edgecert.dev/issuer-name"
	IssuerKindAnnotation = "edgecert.dev/issuer-kind"
	DNSNamesAnnotation   = "edgecert.dev/dns-names"
	// OrderURLAnnotation on a Secret is the ACME order its certificate came
	// from: a pass that finds the order's certificate already stored
	// records it without downloading or writing it again.
	OrderURLAnnotation = "edgecert.dev/order-url"
	// legacyKeySecretSuffix named the Secret older versions kept an
	// order's key in; edgecert reads it to finish such orders and removes
	// it once the certificate is stored.
	legacyKeySecretSuffix = "-edgecert-key"
)

// +kubebuilder:rbac:groups=edgecert.dev,resources=certificates,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=edgecert.dev,resources=certificates/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=edgecert.dev,resources=certificates/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;list;watch

// Defaults of the Options fields.
const (
	DefaultReconcileTimeout = 2 * time.Minute
	DefaultDNSTimeout       = 10 * time.Second
	DefaultCleanUpTimeout   = 2 * time.Minute
)

// Reconciler obtains and renews Certificates.
type Reconciler struct {
	Client client.Client
	// APIReader reads straight from the API server, for the few reads that
	// must not see a stale cache (before creating an ACME order).
	APIReader client.Reader
	Secrets   kube.Secrets
	ACME      *acme.Engine
	Events    events.EventRecorder
	// ClusterResourceNamespace holds ClusterIssuers' Secrets.
	ClusterResourceNamespace string
	// Now is the clock and Rand a source of numbers in [0,1) (renewal time
	// in the CA's window, spreading of polls); tests inject both.
	Now  func() time.Time
	Rand func() float64
	// MaxOrderAge abandons orders not finished in that time (default
	// issuance.DefaultMaxOrderAge).
	MaxOrderAge time.Duration
	// ReconcileTimeout bounds a pass, DNSTimeout each DNS call (ACME calls
	// are bounded by the Engine), CleanUpTimeout how long a deleted
	// Certificate waits for its records to be removed.
	ReconcileTimeout time.Duration
	DNSTimeout       time.Duration
	CleanUpTimeout   time.Duration
	// MaxConcurrentPerIssuer bounds the passes that talk to one issuer's CA
	// and DNS at once, so that a silent CA or DNS API of one issuer leaves
	// workers for the others (0: no bound).
	MaxConcurrentPerIssuer int
	// HTTP01SelfCheck, when set, fetches each HTTP-01 answer the way the
	// CA will before the CA is told to validate it.
	HTTP01SelfCheck *HTTP01SelfCheck
	// RequireHostClaims refuses every host no GatewayPolicy claims for the
	// Certificate's namespace, even while no policy has claims.
	RequireHostClaims bool
	// WorkloadNamespace is the gateway workload namespace the platform
	// configured for the Istio Gateway shim (see askingNamespace).
	WorkloadNamespace string
	// AllowIssuerAmbientCredentials lets namespaced Issuers use edgecert's
	// own cloud identity and endpoint overrides (issuance.CheckSolvers).
	AllowIssuerAmbientCredentials bool

	// presented remembers TXT records published by this process, so a pass
	// waiting for propagation does not send the update again. Losing it on
	// restart only means one idempotent update more.
	presented sync.Map
	// solvers caches DNS-01 solvers (see dnsSolver).
	solvers sync.Map
	// accepted remembers the challenges this process told the CA to
	// validate.
	accepted sync.Map
	// selfCheckFailures counts, per challenge URL, the HTTP-01 self-checks
	// in a row that failed, for the retry backoff. Losing it on restart
	// only makes the next retry sooner.
	selfCheckFailures sync.Map
	// stored remembers the orders whose certificate this process wrote, for
	// when its cache has not seen the Secret yet.
	stored sync.Map
	// ariPolls holds, per Certificate UID, when to ask the CA for its
	// renewal window again.
	ariPolls sync.Map
	// accountKeys holds parsed account keys by their PEM.
	accountKeys sync.Map
	// lastStep holds, per order URL, when this process last acted on it.
	lastStep sync.Map
	// written holds, per Certificate UID, the resourceVersion of this
	// process's latest write of it (see cacheBehind).
	written sync.Map
	// renewSeen holds, per Certificate UID, the last request to renew
	// this process saw (firstSightOfRenewRequest).
	renewSeen sync.Map
	slots     issuerSlots
	orphans   orphanPool
}

// scope is what the steps of one pass found and decided.
type scope struct {
	cert *edgecertv1alpha1.Certificate
	// before is the status as the pass read it.
	before *edgecertv1alpha1.CertificateStatus
	now    time.Time
	// iss is the Ready issuer, set by resolveIssuer.
	iss *issuerFacts
	// secret is the Certificate's Secret when the cache holds it and it is
	// this Certificate's; current its parsed content when valid.
	secret  *corev1.Secret
	current *pki.KeyPair
	// foreignChecked is set once the API server said no foreign Secret
	// is in the way, so a pass asks at most once.
	foreignChecked bool
	// uncachedSecret is this Certificate's Secret as the API server had it
	// when the cache did not (checkNoForeignSecret, decideFromAPI).
	uncachedSecret *corev1.Secret
	// createdOrder is the URL of an order this pass created or adopted,
	// which the status patch must not lose; adopted says it was taken over
	// from a crashed controller.
	createdOrder string
	adopted      bool
	// release frees the issuer slot the pass holds, if any.
	release func()
	// selfChecks are the HTTP-01 answers present found in place, to be
	// fetched as the CA will before they count as answerable.
	selfChecks []pendingSelfCheck

	facts  facts
	events []pendingEvent
	result ctrl.Result
	// done stops the remaining steps.
	done bool
	// keepStatus leaves status as it was: the pass gave up before it
	// learnt anything (its issuer's slots were taken).
	keepStatus bool
}

// pendingEvent is an event to record once the pass's status is written.
type pendingEvent struct {
	typ, reason, action, note string
}

func (s *scope) event(typ, reason, action, note string) {
	s.events = append(s.events, pendingEvent{typ, reason, action, note})
}

// requeue asks to be called again after d, keeping the earliest request.
func (s *scope) requeue(d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	if s.result.RequeueAfter == 0 || d < s.result.RequeueAfter {
		s.result.RequeueAfter = d
	}
}

// stop ends the pass after the current step.
func (s *scope) stop() { s.done = true }

// Reconcile runs one pass: the steps in order until one stops the pass or
// fails, then one status patch (only when status changed), then the events
// of what happened.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	ctx, cancel := context.WithTimeout(ctx, withDefault(r.ReconcileTimeout, DefaultReconcileTimeout))
	defer cancel()
	cert := &edgecertv1alpha1.Certificate{}
	if err := r.Client.Get(ctx, req.NamespacedName, cert); err != nil {
		if apierrors.IsNotFound(err) {
			metrics.Forget(req.Namespace, req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if r.cacheBehind(cert) {
		return ctrl.Result{RequeueAfter: cacheLagRequeue}, nil
	}
	if !cert.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, cert)
	}
	if !controllerutil.ContainsFinalizer(cert, edgecertv1alpha1.CertificateFinalizer) {
		base := cert.DeepCopy()
		controllerutil.AddFinalizer(cert, edgecertv1alpha1.CertificateFinalizer)
		if err := r.Client.Patch(ctx, cert, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}), client.FieldOwner(kube.FieldManager)); err != nil {
			if kube.IsConflict(err) {
				return kube.ConflictRequeue(), nil
			}
			return ctrl.Result{}, err
		}
		r.noteWrite(cert)
	}

	before := cert.DeepCopy()
	s := &scope{cert: cert, before: &before.Status, now: r.Now(), facts: facts{generation: cert.Generation}}
	defer func() {
		if s.release != nil {
			s.release()
		}
		result, retErr = r.finish(ctx, s, before, result, retErr)
	}()
	for _, step := range []func(context.Context, *scope) error{
		r.resolveIssuer,
		r.authorize,
		r.readSecret,
		r.decide,
		r.advanceOrder,
	} {
		if err := step(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
		if s.done {
			break
		}
	}
	return s.result, nil
}

// cacheLagRequeue is how soon a pass that found the cache behind its own
// last write looks again, should the watch event of that write (which
// brings the pass back at once) be lost.
const cacheLagRequeue = time.Second

// cacheBehind reports whether the cached copy of cert is older than this
// process's latest write of it. A pass on such a copy would act on a state
// it already changed (order a certificate whose order it recorded, store
// one it stored) and its write would fail the optimistic lock, so it is
// skipped: the watch event of the write brings the Certificate back, with
// the cache at least that fresh. Resource versions of one resource compare
// as numbers (KEP-5504); one that does not parse disables the check.
func (r *Reconciler) cacheBehind(cert *edgecertv1alpha1.Certificate) bool {
	v, ok := r.written.Load(cert.UID)
	if !ok {
		return false
	}
	cmp, err := resourceversion.CompareResourceVersion(cert.ResourceVersion, v.(string))
	if err == nil && cmp < 0 {
		return true
	}
	r.written.CompareAndDelete(cert.UID, v)
	return false
}

// noteWrite records the resourceVersion of a write of cert this process
// made.
func (r *Reconciler) noteWrite(cert *edgecertv1alpha1.Certificate) {
	r.written.Store(cert.UID, cert.ResourceVersion)
}

// finish turns the pass's outcome into status, writes it when it changed,
// and records the pass's events once status is written (so that a pass
// whose write failed and runs again does not record them twice).
func (r *Reconciler) finish(ctx context.Context, s *scope, before *edgecertv1alpha1.Certificate, result ctrl.Result, err error) (ctrl.Result, error) {
	switch {
	case kube.IsConflict(err):
		// Someone wrote the Certificate since it was read: look again,
		// quietly, with the newer copy.
		err, result = nil, kube.ConflictRequeue()
	case err != nil:
		s.facts.transient = err
	}
	if !s.keepStatus {
		setStatus(s.cert, s.facts)
	}
	if !apiequality.Semantic.DeepEqual(before.Status, s.cert.Status) {
		if perr := r.patchStatus(ctx, before, s); perr != nil {
			if kube.IsConflict(perr) {
				return kube.ConflictRequeue(), err
			}
			return result, errors.Join(err, perr)
		}
	}
	for _, e := range s.events {
		r.Events.Eventf(s.cert, nil, e.typ, e.reason, e.action, "%s", e.note)
	}
	r.recordMetrics(s.cert)
	if err == nil && s.facts.stalled {
		return kube.Stop(errors.New(s.facts.blocked.message), result.RequeueAfter)
	}
	return result, err
}

// patchStatus writes status with optimistic concurrency: a pass that worked
// on a stale copy must not overwrite what a newer pass recorded. When this
// pass created an order and lost the race, the order is recorded on the
// current object anyway, so that it is never lost.
func (r *Reconciler) patchStatus(ctx context.Context, before *edgecertv1alpha1.Certificate, s *scope) error {
	err := r.Client.Status().Patch(ctx, s.cert, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if err == nil {
		r.noteWrite(s.cert)
	}
	if !apierrors.IsConflict(err) || s.createdOrder == "" {
		return err
	}
	current := &edgecertv1alpha1.Certificate{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(s.cert), current); err != nil {
		return err
	}
	if current.Status.Order != nil {
		return err
	}
	fresh := current.DeepCopy()
	fresh.Status.Order = s.cert.Status.Order
	if err := r.Client.Status().Patch(ctx, fresh, client.MergeFromWithOptions(current, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	r.noteWrite(fresh)
	return nil
}

func (r *Reconciler) recordMetrics(cert *edgecertv1alpha1.Certificate) {
	kind := cert.Spec.IssuerRef.KindOrDefault()
	if cert.Status.NotAfter != nil {
		metrics.CertificateExpiry.WithLabelValues(cert.Namespace, cert.Name, cert.Spec.IssuerRef.Name, kind).Set(float64(cert.Status.NotAfter.Unix()))
	}
	if cert.Status.RenewalTime != nil {
		metrics.CertificateRenewal.WithLabelValues(cert.Namespace, cert.Name, cert.Spec.IssuerRef.Name, kind).Set(float64(cert.Status.RenewalTime.Unix()))
	}
	metrics.CertificateFailedAttempts.WithLabelValues(cert.Namespace, cert.Name, cert.Spec.IssuerRef.Name, kind).Set(float64(cert.Status.FailedIssuanceAttempts))
	status, stalled := "Unknown", ""
	for _, c := range cert.Status.Conditions {
		switch {
		case c.Type == edgecertv1alpha1.ReadyCondition:
			status = string(c.Status)
		case c.Type == edgecertv1alpha1.StalledCondition && c.Status == metav1.ConditionTrue:
			stalled = c.Reason
		}
	}
	metrics.SetReady(cert.Namespace, cert.Name, status)
	metrics.SetStalled(cert.Namespace, cert.Name, stalled)
}

// decide compares the Secret with the spec (issuance.Decide). With an order
// in flight for the current hosts the pass goes on to advance it; an order
// for other hosts is dropped. Without one: a certificate that needs nothing
// waits for its renewal time (and the CA's renewal window, which moves it);
// one that needs issuing waits out the backoff of earlier failures, or goes
// on to order.
func (r *Reconciler) decide(ctx context.Context, s *scope) error {
	cert := s.cert
	f := issuance.Facts{Spec: cert.Spec, Now: s.now, KeyPair: s.current}
	if s.secret != nil && s.current == nil {
		f.SecretProblem = s.facts.secretProblem
	}
	if cert.Status.RenewalTime != nil {
		f.RenewalTime = cert.Status.RenewalTime.Time
	}
	if s.current != nil {
		f.IssuedBy = edgecertv1alpha1.IssuerReference{Name: s.secret.Annotations[IssuerNameAnnotation], Kind: s.secret.Annotations[IssuerKindAnnotation]}
	}
	f.RenewRequested = renewRequested(cert)
	decision := issuance.Decide(f)
	s.facts.decision = &decision
	s.facts.decided = true
	s.facts.current = s.current
	s.facts.currentValid = s.current != nil && (!decision.Issue || (decision.Reason == edgecertv1alpha1.ReasonRenewing && s.now.Before(s.current.Leaf.NotAfter)))
	s.facts.renewal = f.RenewalTime

	if o := cert.Status.Order; o != nil {
		if sameHosts(o.DNSNames, cert.Spec.DNSNames) {
			answerRenewRequest(cert)
			return nil
		}
		// The spec moved on: drop the order (the CA lets it expire).
		r.cleanUpAfter(ctx, s)
		cert.Status.Order = nil
	}
	if !decision.Issue {
		s.stop()
		return r.pollRenewalInfo(ctx, s)
	}
	// A request to renew now is a person saying "try again": it does not
	// wait out the backoff (and is answered by one order only).
	if n := cert.Status.FailedIssuanceAttempts; n > 0 && cert.Status.LastFailureTime != nil && f.RenewRequested == "" {
		if wait := cert.Status.LastFailureTime.Add(issuance.Backoff(n)).Sub(s.now); wait > 0 {
			s.facts.backingOff = true
			s.requeue(wait)
			s.stop()
		}
	}
	return nil
}

// renewRequested is the Certificate's edgecert.dev/renew-requested-at
// value while it is not answered: no order has taken it yet
// (status.renewalRequest), or the order that took it is still in flight.
func renewRequested(cert *edgecertv1alpha1.Certificate) string {
	v := cert.Annotations[edgecertv1alpha1.RenewRequestedAtAnnotation]
	if v != cert.Status.RenewalRequest || cert.Status.Order != nil {
		return v
	}
	return ""
}

// answerRenewRequest records that the order in flight answers the pending
// request to renew, if any: an order already under way when the request
// came brings the new certificate asked for.
func answerRenewRequest(cert *edgecertv1alpha1.Certificate) {
	if v := renewRequested(cert); v != "" {
		cert.Status.RenewalRequest = v
	}
}

// random is Rand, or math/rand when none was injected.
func (r *Reconciler) random() float64 {
	if r.Rand != nil {
		return r.Rand()
	}
	return rand.Float64()
}

func withDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func sameHosts(a, b []string) bool {
	x, y := issuance.NormalizeHosts(a), issuance.NormalizeHosts(b)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}
