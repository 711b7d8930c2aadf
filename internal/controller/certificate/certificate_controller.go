// Package certificate reconciles Certificates: it decides (with the pure
// rules of internal/issuance) whether a certificate is needed, and advances
// an ACME order one non-blocking step per pass, keeping the order in status
// so that a restarted controller resumes it.
package certificate

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/acme"
	"github.com/edgecert/edgecert/internal/controller"
	issuerctrl "github.com/edgecert/edgecert/internal/controller/issuer"
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/metrics"
	"github.com/edgecert/edgecert/internal/pki"
)

// Labels and annotations on the Secrets edgecert writes for Certificates.
const (
	// CertificateNameLabel names the Certificate a Secret belongs to; the
	// controller watches Secrets by it.
	CertificateNameLabel = "edgecert.dev/certificate-name"
	// IssuerNameAnnotation, IssuerKindAnnotation and DNSNamesAnnotation
	// say where the certificate came from and what it is for.
	IssuerNameAnnotation = "edgecert.dev/issuer-name"
	IssuerKindAnnotation = "edgecert.dev/issuer-kind"
	DNSNamesAnnotation   = "edgecert.dev/dns-names"
	// keySecretSuffix names the Secret holding the key of the order in
	// flight, so that a restart between finalize and storing the
	// certificate does not lose it.
	keySecretSuffix = "-edgecert-key"
)

// +kubebuilder:rbac:groups=edgecert.dev,resources=certificates,verbs=get;list;watch
// +kubebuilder:rbac:groups=edgecert.dev,resources=certificates/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch

// Reconciler obtains and renews Certificates.
type Reconciler struct {
	Client client.Client
	// APIReader reads straight from the API server, for the few reads that
	// must not see a stale cache (before creating an ACME order).
	APIReader client.Reader
	Secrets   controller.Secrets
	ACME      *acme.Engine
	Events    events.EventRecorder
	// ClusterResourceNamespace holds ClusterIssuers' Secrets.
	ClusterResourceNamespace string
	// Now is the clock; tests inject one.
	Now func() time.Time

	// presented remembers TXT records published by this process, so a pass
	// waiting for propagation does not send the update again. Losing it on
	// restart only means one idempotent update more.
	presented sync.Map
	// solvers caches DNS-01 solvers (see dnsSolver).
	solvers sync.Map
}

// errIssuerNotReady: the issuer exists and has no registered account yet.
var errIssuerNotReady = errors.New("not Ready")

// foreignSecretRecheck is how often a Certificate blocked by someone else's
// Secret looks again: that Secret is not cached, so its deletion sends no event.
const foreignSecretRecheck = time.Minute

// issuerFacts is what a pass needs to know about the issuer.
type issuerFacts struct {
	obj       edgecertv1alpha1.GenericIssuer
	kind      string
	secretsNS string
	client    *acme.Client
	account   acme.Account
}

// Reconcile runs one pass. Status is patched once, at the end, and only
// when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cert edgecertv1alpha1.Certificate
	if err := r.Client.Get(ctx, req.NamespacedName, &cert); err != nil {
		if client.IgnoreNotFound(err) == nil {
			metrics.Forget(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := cert.DeepCopy()
	result, err := r.reconcile(ctx, &cert)
	if !apiequality.Semantic.DeepEqual(before.Status, cert.Status) {
		if patchErr := r.patchStatus(ctx, before, &cert); patchErr != nil {
			return ctrl.Result{}, errors.Join(err, patchErr)
		}
	}
	r.recordMetrics(&cert)
	return result, err
}

// patchStatus writes status with optimistic concurrency: a pass that worked
// on a stale copy must not overwrite what a newer pass recorded. When this
// pass created an order and lost the race, the order is recorded on the
// current object anyway, so that it is never lost.
func (r *Reconciler) patchStatus(ctx context.Context, before, after *edgecertv1alpha1.Certificate) error {
	err := r.Client.Status().Patch(ctx, after, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if !apierrors.IsConflict(err) || after.Status.Order == nil || (before.Status.Order != nil && before.Status.Order.URL == after.Status.Order.URL) {
		return err
	}
	var current edgecertv1alpha1.Certificate
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(after), &current); err != nil {
		return err
	}
	if current.Status.Order != nil {
		return err
	}
	fresh := current.DeepCopy()
	fresh.Status.Order = after.Status.Order
	return r.Client.Status().Patch(ctx, fresh, client.MergeFromWithOptions(&current, client.MergeFromWithOptimisticLock{}))
}

func (r *Reconciler) reconcile(ctx context.Context, cert *edgecertv1alpha1.Certificate) (ctrl.Result, error) {
	now := r.Now()
	iss, err := r.issuer(ctx, cert)
	if err != nil {
		r.setReady(cert, metav1.ConditionFalse, edgecertv1alpha1.ReasonIssuerNotReady, controller.TerminalMessage(err))
		if errors.Is(err, errIssuerNotReady) || apierrors.IsNotFound(err) || errors.Is(err, reconcile.TerminalError(nil)) {
			// The issuer watch brings us back when that changes.
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	for _, host := range cert.Spec.DNSNames {
		if _, _, err := issuance.SelectSolver(iss.obj.GetSpec().ACME.Solvers, host, cert.Labels); err != nil {
			return r.stall(cert, err.Error())
		}
	}

	// The cache holds every Secret edgecert wrote; one that is not there is
	// either missing or someone else's, which foreignSecret checks with the
	// API server before anything is ordered or written.
	secret, err := r.cachedSecret(ctx, cert)
	if err != nil {
		return ctrl.Result{}, err
	}
	if secret != nil && !ownedBy(secret, cert) {
		return r.stallOnForeignSecret(cert)
	}
	if meta.IsStatusConditionTrue(cert.Status.Conditions, edgecertv1alpha1.StalledCondition) {
		meta.RemoveStatusCondition(&cert.Status.Conditions, edgecertv1alpha1.StalledCondition)
	}

	if o := cert.Status.Order; o != nil {
		if !sameHosts(o.DNSNames, cert.Spec.DNSNames) {
			// The spec moved on: drop the order (the CA lets it expire).
			r.cleanUp(ctx, cert, iss)
			cert.Status.Order = nil
		} else {
			return r.advance(ctx, cert, iss, secret)
		}
	}

	facts := issuance.Facts{Spec: cert.Spec, Now: now}
	if secret != nil {
		kp, err := pki.ParseKeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
		if err != nil {
			facts.SecretProblem = fmt.Sprintf("Secret %q does not hold a valid key pair: %v", cert.Spec.SecretName, err)
		} else {
			facts.KeyPair = kp
		}
	}
	if cert.Status.RenewalTime != nil {
		facts.RenewalTime = cert.Status.RenewalTime.Time
	}
	decision := issuance.Decide(facts)
	if !decision.Issue {
		r.setIssued(cert, facts.KeyPair, facts.RenewalTime)
		return ctrl.Result{RequeueAfter: facts.RenewalTime.Sub(now)}, nil
	}

	if n := cert.Status.FailedIssuanceAttempts; n > 0 && cert.Status.LastFailureTime != nil {
		if wait := cert.Status.LastFailureTime.Add(issuance.Backoff(n)).Sub(now); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	if foreign, err := r.foreignSecret(ctx, cert); err != nil || foreign {
		if err != nil {
			return ctrl.Result{}, err
		}
		return r.stallOnForeignSecret(cert)
	}
	return r.startOrder(ctx, cert, iss, facts.KeyPair, decision)
}

// cachedSecret reads the Certificate's Secret from the cache; nil when the
// cache does not have it.
func (r *Reconciler) cachedSecret(ctx context.Context, cert *edgecertv1alpha1.Certificate) (*corev1.Secret, error) {
	var secret corev1.Secret
	err := r.Secrets.Cached.Get(ctx, types.NamespacedName{Namespace: cert.Namespace, Name: cert.Spec.SecretName}, &secret)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &secret, nil
}

// foreignSecret asks the API server whether a Secret of the Certificate's
// secretName exists that edgecert did not write for it: edgecert never
// overwrites such a Secret.
func (r *Reconciler) foreignSecret(ctx context.Context, cert *edgecertv1alpha1.Certificate) (bool, error) {
	secret, err := r.Secrets.Get(ctx, types.NamespacedName{Namespace: cert.Namespace, Name: cert.Spec.SecretName})
	if err != nil {
		return false, err
	}
	return secret != nil && !ownedBy(secret, cert), nil
}

// stallOnForeignSecret reports someone else's Secret in the way, and looks
// again later.
func (r *Reconciler) stallOnForeignSecret(cert *edgecertv1alpha1.Certificate) (ctrl.Result, error) {
	r.stallWithReason(cert, edgecertv1alpha1.ReasonSecretNotOwned, fmt.Sprintf("Secret %q exists and edgecert did not create it for this Certificate; delete it or choose another secretName", cert.Spec.SecretName))
	return ctrl.Result{RequeueAfter: foreignSecretRecheck}, nil
}

// issuer finds the referenced issuer and its registered account.
func (r *Reconciler) issuer(ctx context.Context, cert *edgecertv1alpha1.Certificate) (*issuerFacts, error) {
	ref := cert.Spec.IssuerRef
	var obj edgecertv1alpha1.GenericIssuer
	key := types.NamespacedName{Name: ref.Name}
	kind := ref.Kind
	if kind == edgecertv1alpha1.ClusterIssuerKind {
		obj = &edgecertv1alpha1.ClusterIssuer{}
	} else {
		kind = edgecertv1alpha1.IssuerKind
		obj = &edgecertv1alpha1.Issuer{}
		key.Namespace = cert.Namespace
	}
	if err := r.Client.Get(ctx, key, obj); err != nil {
		return nil, fmt.Errorf("%s %q: %w", kind, ref.Name, err)
	}
	st := obj.GetStatus()
	if !meta.IsStatusConditionTrue(st.Conditions, edgecertv1alpha1.ReadyCondition) || st.AccountURI == "" {
		return nil, fmt.Errorf("%s %q: %w", kind, ref.Name, errIssuerNotReady)
	}
	ns := issuerctrl.SecretNamespace(obj, r.ClusterResourceNamespace)
	keyPEM, err := r.Secrets.Value(ctx, ns, edgecertv1alpha1.SecretKeySelector{Name: obj.GetSpec().ACME.PrivateKeySecretRef.Name, Key: issuerctrl.AccountKeyDataKey})
	if err != nil {
		return nil, err
	}
	accountKey, err := pki.ParseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s %q account key: %w", kind, ref.Name, err)
	}
	cl, err := r.ACME.Client(obj.GetSpec().ACME.Server, obj.GetSpec().ACME.CABundle)
	if err != nil {
		return nil, err
	}
	return &issuerFacts{obj: obj, kind: kind, secretsNS: ns, client: cl, account: acme.Account{Key: accountKey, URL: st.AccountURI}}, nil
}

// startOrder creates the key (when rotating) and the ACME order, resolves
// where each challenge will be answered, and records it all in status: the
// status patch at the end of this pass is what makes the order survive a
// restart.
func (r *Reconciler) startOrder(ctx context.Context, cert *edgecertv1alpha1.Certificate, iss *issuerFacts, current *pki.KeyPair, decision issuance.Decision) (ctrl.Result, error) {
	// The cache may lag behind a status write of the previous pass; an order
	// is only ever created from the latest version, so none is duplicated.
	var latest edgecertv1alpha1.Certificate
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cert), &latest); err != nil {
		return ctrl.Result{}, err
	}
	if latest.ResourceVersion != cert.ResourceVersion {
		return ctrl.Result{RequeueAfter: issuance.PollDelay(0, 0)}, nil
	}
	keyHash, err := r.prepareKey(ctx, cert, current)
	if err != nil {
		return ctrl.Result{}, err
	}
	hosts := issuance.NormalizeHosts(cert.Spec.DNSNames)
	replaces := ""
	if current != nil && decision.Reason == edgecertv1alpha1.ReasonRenewing {
		if id, err := acme.ARIIdentifier(current.Leaf); err == nil {
			replaces = id
		}
	}
	order, err := iss.client.NewOrder(ctx, iss.account, hosts, iss.obj.GetSpec().ACME.Profile, replaces)
	if err != nil && replaces != "" {
		// A CA without ARI, or a certificate already replaced: order plainly.
		order, err = iss.client.NewOrder(ctx, iss.account, hosts, iss.obj.GetSpec().ACME.Profile, "")
		replaces = ""
	}
	if err != nil {
		return r.orderFailed(ctx, cert, iss, err)
	}
	status := &edgecertv1alpha1.OrderStatus{URL: order.URL, DNSNames: hosts, KeyHash: keyHash, Replaces: replaces, Created: metav1.NewTime(r.Now())}
	for _, authzURL := range order.Authorizations {
		authz, err := iss.client.GetAuthorization(ctx, iss.account, authzURL)
		if err != nil {
			return r.orderFailed(ctx, cert, iss, err)
		}
		ch, err := r.pickChallenge(ctx, cert, iss, authz)
		if err != nil {
			cert.Status.Order = status
			return r.stall(cert, controller.TerminalMessage(err))
		}
		status.Challenges = append(status.Challenges, ch)
	}
	cert.Status.Order = status
	meta.SetStatusCondition(&cert.Status.Conditions, metav1.Condition{Type: edgecertv1alpha1.IssuingCondition, Status: metav1.ConditionTrue, Reason: decision.Reason, Message: decision.Message, ObservedGeneration: cert.Generation})
	meta.SetStatusCondition(&cert.Status.Conditions, metav1.Condition{Type: edgecertv1alpha1.ReconcilingCondition, Status: metav1.ConditionTrue, Reason: edgecertv1alpha1.ReasonProgressing, Message: "ACME order " + order.URL + " in progress", ObservedGeneration: cert.Generation})
	if !meta.IsStatusConditionTrue(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition) {
		r.setReady(cert, metav1.ConditionFalse, decision.Reason, decision.Message)
	}
	return ctrl.Result{RequeueAfter: issuance.PollDelay(0, 0)}, nil
}

// pickChallenge chooses the challenge of the solver that serves the
// authorization's host and works out where it will be answered.
func (r *Reconciler) pickChallenge(ctx context.Context, cert *edgecertv1alpha1.Certificate, iss *issuerFacts, authz acme.Authorization) (edgecertv1alpha1.ChallengeStatus, error) {
	host := authz.DNSName
	if authz.Wildcard {
		host = "*." + host
	}
	idx, typ, err := issuance.SelectSolver(iss.obj.GetSpec().ACME.Solvers, host, cert.Labels)
	if err != nil {
		return edgecertv1alpha1.ChallengeStatus{}, reconcile.TerminalError(err)
	}
	for _, ch := range authz.Challenges {
		if ch.Type != typ {
			continue
		}
		out := edgecertv1alpha1.ChallengeStatus{DNSName: authz.DNSName, Wildcard: authz.Wildcard, Type: typ, URL: ch.URL, AuthorizationURL: authz.URL, Token: ch.Token, Solver: idx}
		if typ == issuance.HTTP01 {
			out.KeyAuthorization = ch.KeyAuthorization
			return out, nil
		}
		out.DNS01Value = ch.DNS01Value
		solver, err := r.dnsSolver(ctx, iss, idx)
		if err != nil {
			return out, err
		}
		target, err := solver.resolver.ChallengeTarget(ctx, authz.DNSName)
		if err != nil {
			return out, err
		}
		out.RecordName, out.Zone = target.FQDN, target.Zone
		return out, nil
	}
	return edgecertv1alpha1.ChallengeStatus{}, reconcile.TerminalError(fmt.Errorf("the CA offers no %s challenge for %s", typ, host))
}

// advance moves the order in flight one step.
func (r *Reconciler) advance(ctx context.Context, cert *edgecertv1alpha1.Certificate, iss *issuerFacts, secret *corev1.Secret) (ctrl.Result, error) {
	st := cert.Status.Order
	age := r.Now().Sub(st.Created.Time)
	order, err := iss.client.GetOrder(ctx, iss.account, st.URL)
	if err != nil {
		return r.orderFailed(ctx, cert, iss, err)
	}
	switch order.Status {
	case "pending":
		var wait time.Duration
		for _, ch := range st.Challenges {
			authz, err := iss.client.GetAuthorization(ctx, iss.account, ch.AuthorizationURL)
			if err != nil {
				return r.orderFailed(ctx, cert, iss, err)
			}
			if authz.Status != "pending" {
				continue
			}
			var current acme.Challenge
			for _, c := range authz.Challenges {
				if c.URL == ch.URL {
					current = c
				}
			}
			if current.Status != "pending" {
				continue
			}
			ready, after, err := r.present(ctx, cert, iss, ch)
			if err != nil {
				if errors.Is(err, reconcile.TerminalError(nil)) {
					r.stallWithReason(cert, edgecertv1alpha1.ReasonChallengeRouteFailed, controller.TerminalMessage(err))
					return ctrl.Result{RequeueAfter: foreignSecretRecheck}, nil
				}
				return ctrl.Result{}, err
			}
			if after > 0 && (wait == 0 || after < wait) {
				wait = after
			}
			if !ready {
				continue
			}
			if err := iss.client.Accept(ctx, iss.account, ch.URL); err != nil {
				return r.orderFailed(ctx, cert, iss, err)
			}
		}
		if wait > 0 {
			// Nothing to ask the CA before the route has reached the gateway.
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	case "ready":
		key, err := r.orderKey(ctx, cert, secret)
		if err != nil {
			return ctrl.Result{}, err
		}
		if key == nil {
			// The key the order was made for is gone: start over.
			r.cleanUp(ctx, cert, iss)
			cert.Status.Order = nil
			return ctrl.Result{RequeueAfter: issuance.PollDelay(0, 0)}, nil
		}
		csr, err := pki.CreateCSR(key, st.DNSNames)
		if err != nil {
			return ctrl.Result{}, err
		}
		finalized, err := iss.client.Finalize(ctx, iss.account, order, csr)
		if err != nil {
			return r.orderFailed(ctx, cert, iss, err)
		}
		if finalized.Status == "valid" {
			// Some CAs issue while answering the finalize request.
			return r.store(ctx, cert, iss, secret, finalized)
		}
	case "valid":
		return r.store(ctx, cert, iss, secret, order)
	case "invalid":
		return r.orderFailed(ctx, cert, iss, r.orderProblem(ctx, iss, order))
	}
	return ctrl.Result{RequeueAfter: issuance.PollDelay(age, 0)}, nil
}

// present makes a challenge answerable and reports whether the CA can be
// told to validate it, or else, when known, how long to wait. HTTP-01
// answers come from status, so they are ready as soon as the order is
// recorded, unless they are routed through Istio: then the route must be
// made and given time to reach the gateway. A DNS-01 record must be
// visible at the zone's authoritative servers first.
func (r *Reconciler) present(ctx context.Context, cert *edgecertv1alpha1.Certificate, iss *issuerFacts, ch edgecertv1alpha1.ChallengeStatus) (bool, time.Duration, error) {
	if ch.Type == issuance.HTTP01 {
		spec := istioRoute(iss, ch)
		if spec == nil {
			return true, 0, nil
		}
		wait, err := r.presentIstioRoute(ctx, cert, iss, ch.Solver, spec)
		return err == nil && wait == 0, wait, err
	}
	solver, err := r.dnsSolver(ctx, iss, ch.Solver)
	if err != nil {
		return false, 0, err
	}
	if _, done := r.presented.Load(ch.URL); !done {
		if err := solver.provider.Present(ctx, ch.Zone, ch.RecordName, ch.DNS01Value); err != nil {
			return false, 0, fmt.Errorf("present TXT %s: %w", ch.RecordName, err)
		}
		r.presented.Store(ch.URL, struct{}{})
	}
	visible, err := solver.resolver.CheckPropagation(ctx, ch.RecordName, ch.DNS01Value)
	if err != nil {
		return false, 0, fmt.Errorf("check TXT %s: %w", ch.RecordName, err)
	}
	return visible, 0, nil
}

// cleanUp removes every TXT record and Istio route of the order in
// flight. Failures are logged, not returned: a stray TXT record is
// harmless, a stray route goes with its Certificate, and the order's
// outcome must still be recorded.
func (r *Reconciler) cleanUp(ctx context.Context, cert *edgecertv1alpha1.Certificate, iss *issuerFacts) {
	if cert.Status.Order == nil {
		return
	}
	r.removeIstioRoutes(ctx, cert, iss)
	for _, ch := range cert.Status.Order.Challenges {
		r.presented.Delete(ch.URL)
		if ch.Type != issuance.DNS01 {
			continue
		}
		solver, err := r.dnsSolver(ctx, iss, ch.Solver)
		if err == nil {
			err = solver.provider.CleanUp(ctx, ch.Zone, ch.RecordName, ch.DNS01Value)
		}
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Clean up TXT record", "record", ch.RecordName)
		}
	}
}

// store downloads the chain, writes the Secret whole and records success.
func (r *Reconciler) store(ctx context.Context, cert *edgecertv1alpha1.Certificate, iss *issuerFacts, secret *corev1.Secret, order acme.Order) (ctrl.Result, error) {
	chain, err := iss.client.FetchChain(ctx, iss.account, order.Certificate)
	if err != nil {
		return r.orderFailed(ctx, cert, iss, err)
	}
	key, err := r.orderKey(ctx, cert, secret)
	if err != nil {
		return ctrl.Result{}, err
	}
	if key == nil {
		return r.stall(cert, "the private key of the finished order is gone; delete status.order to start again")
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return ctrl.Result{}, err
	}
	kp, err := pki.ParseKeyPair(chain, keyPEM)
	if err != nil {
		return r.orderFailed(ctx, cert, iss, reconcile.TerminalError(fmt.Errorf("the CA's certificate does not match the order's key: %w", err)))
	}
	if foreign, err := r.foreignSecret(ctx, cert); err != nil || foreign {
		if err != nil {
			return ctrl.Result{}, err
		}
		return r.stallOnForeignSecret(cert)
	}
	if err := r.applySecret(ctx, cert, iss, chain, keyPEM); err != nil {
		return ctrl.Result{}, err
	}
	r.cleanUp(ctx, cert, iss)

	renewal := r.renewalTime(ctx, cert, iss, kp)
	metrics.IssuanceDuration.WithLabelValues(iss.kind, "issued").Observe(r.Now().Sub(cert.Status.Order.Created.Time).Seconds())
	renewed := cert.Status.Revision > 0
	cert.Status.Order = nil
	cert.Status.Revision++
	cert.Status.FailedIssuanceAttempts = 0
	cert.Status.LastFailureTime = nil
	r.setIssued(cert, kp, renewal)
	verb, reason := "Issued", edgecertv1alpha1.ReasonIssued
	if renewed {
		verb = "Renewed"
	}
	r.Events.Eventf(cert, nil, corev1.EventTypeNormal, reason, "Issue", "%s certificate for %s, valid until %s", verb, strings.Join(pki.Hosts(kp.Leaf), ", "), kp.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return ctrl.Result{RequeueAfter: renewal.Sub(r.Now())}, nil
}

// renewalTime follows the CA's ARI window when it offers one, else the
// lifetime rule (or renewBefore).
func (r *Reconciler) renewalTime(ctx context.Context, cert *edgecertv1alpha1.Certificate, iss *issuerFacts, kp *pki.KeyPair) time.Time {
	if w, err := iss.client.RenewalInfo(ctx, kp.Leaf); err == nil && !w.End.IsZero() {
		return pki.ARIRenewalTime(w.Start, w.End, r.Now(), rand.Float64())
	}
	var before time.Duration
	if cert.Spec.RenewBefore != nil {
		before = cert.Spec.RenewBefore.Duration
	}
	return pki.RenewalTime(kp.Leaf.NotBefore, kp.Leaf.NotAfter, before)
}

// applySecret writes the Secret whole with server-side apply: a consumer
// never sees a key without its chain.
func (r *Reconciler) applySecret(ctx context.Context, cert *edgecertv1alpha1.Certificate, iss *issuerFacts, chain, keyPEM []byte) error {
	labels := map[string]string{}
	annotations := map[string]string{}
	if t := cert.Spec.SecretTemplate; t != nil {
		for k, v := range t.Labels {
			labels[k] = v
		}
		for k, v := range t.Annotations {
			annotations[k] = v
		}
	}
	labels[controller.ManagedByLabel] = controller.ManagedByValue
	labels[CertificateNameLabel] = cert.Name
	annotations[IssuerNameAnnotation] = cert.Spec.IssuerRef.Name
	annotations[IssuerKindAnnotation] = iss.kind
	annotations[DNSNamesAnnotation] = strings.Join(cert.Status.Order.DNSNames, ",")
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: cert.Spec.SecretName, Namespace: cert.Namespace, Labels: labels, Annotations: annotations},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: chain, corev1.TLSPrivateKeyKey: keyPEM},
	}
	if cert.Spec.SecretOwnerReference {
		secret.OwnerReferences = []metav1.OwnerReference{ownerRef(cert)}
	}
	//nolint:staticcheck // typed server-side apply of a whole object is what we want here.
	if err := r.Client.Patch(ctx, secret, client.Apply, client.FieldOwner(controller.FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply Secret %s: %w", cert.Spec.SecretName, err)
	}
	return nil
}

// prepareKey returns the hash of the key the new order's CSR will use,
// writing a new key to the key Secret when rotating.
func (r *Reconciler) prepareKey(ctx context.Context, cert *edgecertv1alpha1.Certificate, current *pki.KeyPair) (string, error) {
	spec := issuance.KeySpec(cert.Spec.PrivateKey)
	if current != nil && !issuance.RotateKey(cert.Spec.PrivateKey) && pki.KeyMatchesSpec(current.Key, spec) {
		return pki.PublicKeyID(current.Key.Public())
	}
	key, err := pki.GenerateKey(spec)
	if err != nil {
		return "", reconcile.TerminalError(err)
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return "", err
	}
	secret := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name: keySecretName(cert), Namespace: cert.Namespace,
			Labels:          map[string]string{controller.ManagedByLabel: controller.ManagedByValue, CertificateNameLabel: cert.Name},
			OwnerReferences: []metav1.OwnerReference{ownerRef(cert)},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{corev1.TLSPrivateKeyKey: keyPEM},
	}
	//nolint:staticcheck // see applySecret.
	if err := r.Client.Patch(ctx, secret, client.Apply, client.FieldOwner(controller.FieldManager), client.ForceOwnership); err != nil {
		return "", fmt.Errorf("store private key: %w", err)
	}
	return pki.PublicKeyID(key.Public())
}

// orderKey finds the key the order was made with, in the key Secret or
// (rotation policy Never) the certificate Secret. Nil when neither holds it.
func (r *Reconciler) orderKey(ctx context.Context, cert *edgecertv1alpha1.Certificate, secret *corev1.Secret) (crypto.Signer, error) {
	keySecret, err := r.Secrets.Get(ctx, types.NamespacedName{Namespace: cert.Namespace, Name: keySecretName(cert)})
	if err != nil {
		return nil, err
	}
	for _, s := range []*corev1.Secret{keySecret, secret} {
		if s == nil {
			continue
		}
		key, err := pki.ParseKey(s.Data[corev1.TLSPrivateKeyKey])
		if err != nil {
			continue
		}
		if id, err := pki.PublicKeyID(key.Public()); err == nil && id == cert.Status.Order.KeyHash {
			return key, nil
		}
	}
	return nil, nil
}

// orderProblem collects the CA's reasons for an invalid order from its
// authorizations' challenges.
func (r *Reconciler) orderProblem(ctx context.Context, iss *issuerFacts, order acme.Order) error {
	var errs []string
	for _, ch := range r.challengesOf(ctx, iss, order) {
		if ch.Error != nil {
			errs = append(errs, acme.ErrorMessage(ch.Error))
		}
	}
	if len(errs) == 0 && order.Error != nil {
		errs = append(errs, acme.ErrorMessage(order.Error))
	}
	if len(errs) == 0 {
		errs = append(errs, "the CA marked the order invalid")
	}
	return reconcile.TerminalError(errors.New(strings.Join(errs, "; ")))
}

func (r *Reconciler) challengesOf(ctx context.Context, iss *issuerFacts, order acme.Order) []acme.Challenge {
	var out []acme.Challenge
	for _, u := range order.Authorizations {
		if a, err := iss.client.GetAuthorization(ctx, iss.account, u); err == nil {
			out = append(out, a.Challenges...)
		}
	}
	return out
}

// orderFailed records a failed ACME step. Transient errors go back to the
// workqueue; rate limits wait as the CA asked; anything else ends the
// order, counts a failed attempt and backs off exponentially.
func (r *Reconciler) orderFailed(ctx context.Context, cert *edgecertv1alpha1.Certificate, iss *issuerFacts, err error) (ctrl.Result, error) {
	c := acme.Classify(err)
	if errors.Is(err, reconcile.TerminalError(nil)) {
		c = acme.Classified{Class: acme.Terminal, Message: controller.TerminalMessage(err)}
	}
	switch c.Class {
	case acme.Transient:
		return ctrl.Result{}, err
	case acme.RateLimited:
		r.setReady(cert, metav1.ConditionFalse, edgecertv1alpha1.ReasonRateLimited, c.Message)
		return ctrl.Result{RequeueAfter: c.RetryAfter}, nil
	}
	r.cleanUp(ctx, cert, iss)
	if cert.Status.Order != nil {
		metrics.IssuanceDuration.WithLabelValues(iss.kind, "failed").Observe(r.Now().Sub(cert.Status.Order.Created.Time).Seconds())
	}
	cert.Status.Order = nil
	cert.Status.FailedIssuanceAttempts++
	now := metav1.NewTime(r.Now())
	cert.Status.LastFailureTime = &now
	meta.RemoveStatusCondition(&cert.Status.Conditions, edgecertv1alpha1.IssuingCondition)
	meta.RemoveStatusCondition(&cert.Status.Conditions, edgecertv1alpha1.ReconcilingCondition)
	r.setReady(cert, metav1.ConditionFalse, edgecertv1alpha1.ReasonOrderFailed, c.Message)
	wait := issuance.Backoff(cert.Status.FailedIssuanceAttempts)
	r.Events.Eventf(cert, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonOrderFailed, "Issue", "Issuance failed (attempt %d, next in %s): %s", cert.Status.FailedIssuanceAttempts, wait, c.Message)
	return ctrl.Result{RequeueAfter: wait}, nil
}

// stall records that a person must act.
func (r *Reconciler) stall(cert *edgecertv1alpha1.Certificate, msg string) (ctrl.Result, error) {
	r.stallWithReason(cert, edgecertv1alpha1.ReasonInvalidSpec, msg)
	return ctrl.Result{}, nil
}

func (r *Reconciler) stallWithReason(cert *edgecertv1alpha1.Certificate, reason, msg string) {
	meta.SetStatusCondition(&cert.Status.Conditions, metav1.Condition{Type: edgecertv1alpha1.StalledCondition, Status: metav1.ConditionTrue, Reason: reason, Message: msg, ObservedGeneration: cert.Generation})
	r.setReady(cert, metav1.ConditionFalse, reason, msg)
}

func (r *Reconciler) setReady(cert *edgecertv1alpha1.Certificate, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&cert.Status.Conditions, metav1.Condition{Type: edgecertv1alpha1.ReadyCondition, Status: status, Reason: reason, Message: msg, ObservedGeneration: cert.Generation})
}

// setIssued records a good certificate in status.
func (r *Reconciler) setIssued(cert *edgecertv1alpha1.Certificate, kp *pki.KeyPair, renewal time.Time) {
	nb, na, rt := metav1.NewTime(kp.Leaf.NotBefore), metav1.NewTime(kp.Leaf.NotAfter), metav1.NewTime(renewal)
	if renewal.IsZero() {
		rt = metav1.NewTime(pki.RenewalTime(kp.Leaf.NotBefore, kp.Leaf.NotAfter, 0))
	}
	cert.Status.NotBefore, cert.Status.NotAfter, cert.Status.RenewalTime = &nb, &na, &rt
	cert.Status.ObservedGeneration = cert.Generation
	meta.RemoveStatusCondition(&cert.Status.Conditions, edgecertv1alpha1.IssuingCondition)
	meta.RemoveStatusCondition(&cert.Status.Conditions, edgecertv1alpha1.ReconcilingCondition)
	meta.RemoveStatusCondition(&cert.Status.Conditions, edgecertv1alpha1.StalledCondition)
	r.setReady(cert, metav1.ConditionTrue, edgecertv1alpha1.ReasonIssued, "Certificate is up to date and has not expired")
}

func (r *Reconciler) recordMetrics(cert *edgecertv1alpha1.Certificate) {
	kind := cert.Spec.IssuerRef.Kind
	if kind == "" {
		kind = edgecertv1alpha1.IssuerKind
	}
	if cert.Status.NotAfter != nil {
		metrics.CertificateExpiry.WithLabelValues(cert.Namespace, cert.Name, cert.Spec.IssuerRef.Name, kind).Set(float64(cert.Status.NotAfter.Unix()))
	}
	if cert.Status.RenewalTime != nil {
		metrics.CertificateRenewal.WithLabelValues(cert.Namespace, cert.Name, cert.Spec.IssuerRef.Name, kind).Set(float64(cert.Status.RenewalTime.Unix()))
	}
	status := "Unknown"
	if c := meta.FindStatusCondition(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition); c != nil {
		status = string(c.Status)
	}
	metrics.SetReady(cert.Namespace, cert.Name, status)
}

func keySecretName(cert *edgecertv1alpha1.Certificate) string {
	return cert.Name + keySecretSuffix
}

func ownerRef(cert *edgecertv1alpha1.Certificate) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: edgecertv1alpha1.GroupVersion.String(), Kind: "Certificate", Name: cert.Name, UID: cert.UID, Controller: &t, BlockOwnerDeletion: &t}
}

// ownedBy reports whether edgecert wrote secret for this Certificate.
func ownedBy(secret *corev1.Secret, cert *edgecertv1alpha1.Certificate) bool {
	return controller.IsManaged(secret) && secret.Labels[CertificateNameLabel] == cert.Name
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
