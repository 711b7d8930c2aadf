package certificate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/acme"
	"github.com/edgecert/edgecert/internal/controller"
	issuerctrl "github.com/edgecert/edgecert/internal/controller/issuer"
	"github.com/edgecert/edgecert/internal/issuance"
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
		s.facts.block(edgecertv1alpha1.ReasonIssuerNotReady, controller.TerminalMessage(err), false)
		s.stop()
		return nil
	default:
		return err
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
		return nil, reconcile.TerminalError(fmt.Errorf("%s %q account key: %w", kind, ref.Name, err))
	}
	cl, err := r.ACME.Client(obj.GetSpec().ACME.Server, obj.GetSpec().ACME.CABundle)
	if err != nil {
		return nil, reconcile.TerminalError(err)
	}
	return &issuerFacts{obj: obj, kind: kind, secretsNS: ns, client: cl, account: acme.Account{Key: accountKey, URL: st.AccountURI}}, nil
}

// issuerSlots bounds how many passes talk to one issuer's CA and DNS at
// once. A pass that finds every slot taken does not wait: it comes back a
// little later, leaving its worker to Certificates of other issuers. Slots
// go to waiting Certificates in the order they first asked, so that a
// Certificate whose passes keep failing fast cannot keep a slot from the
// others.
type issuerSlots struct {
	mu       sync.Mutex
	byIssuer map[string]*slots
}

type slots struct {
	inUse int
	// waiting are the Certificates (namespace/name) that found no slot, in
	// the order they asked, with when they last asked.
	waiting []waiter
}

type waiter struct {
	cert  string
	asked time.Time
}

// issuerBusyRequeue is how soon a pass that found its issuer's slots taken
// comes back (spread by up to as much again); a waiter that has not asked
// again for waiterExpiry has stopped waiting.
const (
	issuerBusyRequeue = 200 * time.Millisecond
	waiterExpiry      = 10 * issuerBusyRequeue
)

// acquire takes a slot of the pass's issuer for the rest of the pass, or
// stops the pass and asks to be called again when none is free for it.
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
		sl = &slots{}
		r.slots.byIssuer[key] = sl
	}
	sl.waiting = slices.DeleteFunc(sl.waiting, func(w waiter) bool { return s.now.Sub(w.asked) > waiterExpiry })
	ahead := slices.IndexFunc(sl.waiting, func(w waiter) bool { return w.cert == cert })
	if ahead < 0 {
		ahead = len(sl.waiting)
	}
	if ahead >= r.MaxConcurrentPerIssuer-sl.inUse {
		if ahead == len(sl.waiting) {
			sl.waiting = append(sl.waiting, waiter{cert: cert})
		}
		sl.waiting[ahead].asked = s.now
		// Nothing was learnt: status stays as the last pass left it.
		s.requeue(issuerBusyRequeue + time.Duration(r.random()*float64(issuerBusyRequeue)))
		s.stop()
		s.keepStatus = true
		return false
	}
	if ahead < len(sl.waiting) {
		sl.waiting = slices.Delete(sl.waiting, ahead, ahead+1)
	}
	sl.inUse++
	s.release = func() {
		r.slots.mu.Lock()
		defer r.slots.mu.Unlock()
		if sl.inUse--; sl.inUse == 0 && len(sl.waiting) == 0 {
			delete(r.slots.byIssuer, key)
		}
	}
	return true
}
