package certificate

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/acme"
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/pki"
)

// issuerFacts is what a pass needs to know about the issuer.
type issuerFacts struct {
	obj       edgecertv1alpha1.GenericIssuer
	kind      string
	secretsNS string
	client    *acme.Client
	account   acme.Account
}

// key identifies the issuer among all of a kind, for per-issuer limits.
func (i *issuerFacts) key() string {
	return i.kind + "/" + i.obj.GetNamespace() + "/" + i.obj.GetName()
}

// errIssuerNotReady: the issuer exists and has no registered account yet.
var errIssuerNotReady = errors.New("not Ready")

// resolveIssuer finds the referenced issuer, its registered account and a
// solver for every host. Sets Ready=False IssuerNotReady when the issuer is
// missing or not Ready (the issuer watch brings the Certificate back), and
// Stalled InvalidSpec when a host has no solver.
func (r *Reconciler) resolveIssuer(ctx context.Context, s *scope) error {
	iss, err := r.issuer(ctx, s.cert)
	switch {
	case err == nil:
	case errors.Is(err, errIssuerNotReady) || apierrors.IsNotFound(err) || errors.Is(err, reconcile.TerminalError(nil)):
		s.facts.block(edgecertv1alpha1.ReasonIssuerNotReady, kube.TerminalMessage(err), false)
		s.stop()
		return nil
	default:
		return err
	}
	if err := issuance.CheckSolvers(iss.kind, iss.obj.GetSpec().ACME.Solvers, r.AllowIssuerAmbientCredentials); err != nil {
		s.facts.block(edgecertv1alpha1.ReasonIssuerNotReady, fmt.Sprintf("%s %q: %v", iss.kind, iss.obj.GetName(), err), true)
		s.stop()
		return nil
	}
	for _, host := range s.cert.Spec.DNSNames {
		if _, _, err := issuance.SelectSolver(iss.obj.GetSpec().ACME.Solvers, host, s.cert.Labels); err != nil {
			s.facts.block(edgecertv1alpha1.ReasonInvalidSpec, err.Error(), true)
			s.stop()
			return nil
		}
	}
	s.iss = iss
	return nil
}

// issuer finds the referenced issuer and its registered account.
func (r *Reconciler) issuer(ctx context.Context, cert *edgecertv1alpha1.Certificate) (*issuerFacts, error) {
	ref := cert.Spec.IssuerRef
	var obj edgecertv1alpha1.GenericIssuer
	key := types.NamespacedName{Name: ref.Name}
	kind := ref.KindOrDefault()
	if kind == edgecertv1alpha1.ClusterIssuerKind {
		obj = &edgecertv1alpha1.ClusterIssuer{}
	} else {
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
	ns := edgecertv1alpha1.IssuerSecretNamespace(obj, r.ClusterResourceNamespace)
	keyPEM, err := r.Secrets.Value(ctx, ns, edgecertv1alpha1.SecretKeySelector{Name: obj.GetSpec().ACME.PrivateKeySecretRef.Name, Key: edgecertv1alpha1.AccountKeyDataKey})
	if err != nil {
		return nil, err
	}
	accountKey, err := r.accountKey(keyPEM)
	if err != nil {
		return nil, reconcile.TerminalError(fmt.Errorf("%s %q account key: %w", kind, ref.Name, err))
	}
	cl, err := r.ACME.Client(obj.GetSpec().ACME.Server, obj.GetSpec().ACME.CABundle)
	if err != nil {
		return nil, reconcile.TerminalError(err)
	}
	return &issuerFacts{obj: obj, kind: kind, secretsNS: ns, client: cl, account: acme.Account{Key: accountKey, URL: st.AccountURI}}, nil
}

// accountKey parses an account key once: every pass of every Certificate
// needs its issuer's.
func (r *Reconciler) accountKey(keyPEM []byte) (crypto.Signer, error) {
	if k, ok := r.accountKeys.Load(string(keyPEM)); ok {
		return k.(crypto.Signer), nil
	}
	k, err := pki.ParseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	r.accountKeys.Store(string(keyPEM), k)
	return k, nil
}

// issuerSlots bounds how many passes talk to one issuer's CA and DNS at
// once. A pass that finds no slot for it does not wait: it joins the
// issuer's queue and ends, leaving its worker to Certificates of other
// issuers. When a slot frees, the first Certificate in the queue is woken
// (through Wake, a source of the controller) and the slot is kept for it.
// Slots thus go in the order they were asked for, a Certificate whose
// passes fail fast cannot keep one from the others, and waiting costs no
// pass at all.
type issuerSlots struct {
	mu       sync.Mutex
	byIssuer map[string]*slots
	// Wake carries the Certificates a slot was kept for; the controller
	// reconciles each at once.
	Wake chan event.GenericEvent
}

type slots struct {
	inUse int
	// queue holds the Certificates (namespace/name) that found no slot,
	// in the order they asked.
	queue []string
	// kept holds, for each woken Certificate, since when its slot is
	// kept.
	kept map[string]time.Time
}

// Should a wake get lost (a full channel, a Certificate deleted meanwhile),
// a kept slot lapses after keptSlotExpiry and a queued pass looks again
// after queuedRecheck.
const (
	keptSlotExpiry = 5 * time.Second
	queuedRecheck  = 30 * time.Second
)

// acquire takes a slot of the pass's issuer for the rest of the pass, or
// queues the Certificate for the next free slot and stops the pass.
func (r *Reconciler) acquire(s *scope) bool {
	if s.release != nil || r.MaxConcurrentPerIssuer <= 0 {
		return true
	}
	key, cert := s.iss.key(), s.cert.Namespace+"/"+s.cert.Name
	r.slots.mu.Lock()
	defer r.slots.mu.Unlock()
	if r.slots.byIssuer == nil {
		r.slots.byIssuer = map[string]*slots{}
	}
	sl := r.slots.byIssuer[key]
	if sl == nil {
		sl = &slots{kept: map[string]time.Time{}}
		r.slots.byIssuer[key] = sl
	}
	for c, since := range sl.kept {
		if s.now.Sub(since) > keptSlotExpiry {
			delete(sl.kept, c)
		}
	}
	_, kept := sl.kept[cert]
	ahead := slices.Index(sl.queue, cert)
	if ahead < 0 {
		ahead = len(sl.queue)
	}
	if !kept && ahead >= r.MaxConcurrentPerIssuer-sl.inUse-len(sl.kept) {
		if ahead == len(sl.queue) {
			sl.queue = append(sl.queue, cert)
		}
		r.wakeLocked(sl, s.now)
		// Nothing was learnt: status stays as the last pass left it.
		s.requeue(queuedRecheck)
		s.stop()
		s.keepStatus = true
		return false
	}
	if ahead < len(sl.queue) {
		sl.queue = slices.Delete(sl.queue, ahead, ahead+1)
	}
	delete(sl.kept, cert)
	sl.inUse++
	s.release = func() {
		r.slots.mu.Lock()
		defer r.slots.mu.Unlock()
		sl.inUse--
		r.wakeLocked(sl, r.Now())
		if sl.inUse == 0 && len(sl.queue) == 0 && len(sl.kept) == 0 {
			delete(r.slots.byIssuer, key)
		}
	}
	return true
}

// wakeLocked keeps each free slot for the next queued Certificate and wakes
// it.
func (r *Reconciler) wakeLocked(sl *slots, now time.Time) {
	for r.MaxConcurrentPerIssuer-sl.inUse-len(sl.kept) > 0 && len(sl.queue) > 0 {
		next := sl.queue[0]
		sl.queue = sl.queue[1:]
		sl.kept[next] = now
		ns, name, _ := strings.Cut(next, "/")
		select {
		case r.slots.Wake <- event.GenericEvent{Object: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}:
		default:
		}
	}
}
