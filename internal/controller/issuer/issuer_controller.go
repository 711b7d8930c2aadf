// Package issuer reconciles Issuers and ClusterIssuers: it makes sure the
// account key Secret exists and the ACME account is registered, and says so
// in the Ready condition.
package issuer

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

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
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/pki"
)

// +kubebuilder:rbac:groups=edgecert.dev,resources=issuers;clusterissuers,verbs=get;list;watch
// +kubebuilder:rbac:groups=edgecert.dev,resources=issuers/status;clusterissuers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch

// Reconciler registers the ACME account of one issuer kind.
type Reconciler struct {
	Client  client.Client
	Secrets kube.Secrets
	ACME    *acme.Engine
	Events  events.EventRecorder
	// ClusterResourceNamespace holds ClusterIssuers' Secrets.
	ClusterResourceNamespace string
	// NewObject returns an empty Issuer or ClusterIssuer.
	NewObject func() edgecertv1alpha1.GenericIssuer
	// AllowAmbientCredentials lets Issuers use edgecert's own cloud
	// identity and endpoint overrides (issuance.CheckSolvers).
	AllowAmbientCredentials bool
}

// SetupWithManager registers a Reconciler for Issuers and one for
// ClusterIssuers; secrets are the Secret readers the manager's controllers
// share (kube.NewSecrets); allowAmbientCredentials: see
// Reconciler.AllowAmbientCredentials.
func SetupWithManager(mgr ctrl.Manager, engine *acme.Engine, clusterResourceNamespace string, secrets kube.Secrets, allowAmbientCredentials bool) error {
	for _, kind := range []struct {
		name string
		new  func() edgecertv1alpha1.GenericIssuer
	}{
		{"issuer", func() edgecertv1alpha1.GenericIssuer { return &edgecertv1alpha1.Issuer{} }},
		{"clusterissuer", func() edgecertv1alpha1.GenericIssuer { return &edgecertv1alpha1.ClusterIssuer{} }},
	} {
		r := &Reconciler{
			Client: mgr.GetClient(), Secrets: secrets, ACME: engine,
			Events:                   mgr.GetEventRecorder("edgecert-" + kind.name),
			ClusterResourceNamespace: clusterResourceNamespace,
			NewObject:                kind.new,
			AllowAmbientCredentials:  allowAmbientCredentials,
		}
		if err := ctrl.NewControllerManagedBy(mgr).Named(kind.name).For(kind.new()).Complete(r); err != nil {
			return err
		}
	}
	return nil
}

// Reconcile makes sure the account key exists and the account is
// registered. It talks to the CA only when the account settings changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.NewObject()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := obj.DeepCopyObject().(edgecertv1alpha1.GenericIssuer)
	result, err := r.reconcile(ctx, obj)
	kube.ObserveGeneration(&obj.GetStatus().ObservedGeneration, obj.GetGeneration(), err == nil || errors.Is(err, reconcile.TerminalError(nil)))
	if patchErr := r.patchStatus(ctx, before, obj); patchErr != nil {
		return ctrl.Result{}, errors.Join(err, patchErr)
	}
	return result, err
}

func (r *Reconciler) reconcile(ctx context.Context, obj edgecertv1alpha1.GenericIssuer) (ctrl.Result, error) {
	spec, status := obj.GetSpec(), obj.GetStatus()
	ns := edgecertv1alpha1.IssuerSecretNamespace(obj, r.ClusterResourceNamespace)
	if err := issuance.CheckSolvers(edgecertv1alpha1.IssuerKindOf(obj), spec.ACME.Solvers, r.AllowAmbientCredentials); err != nil {
		return r.fail(obj, reconcile.TerminalError(err))
	}

	key, err := r.ensureAccountKey(ctx, obj, types.NamespacedName{Namespace: ns, Name: spec.ACME.PrivateKeySecretRef.Name})
	if err != nil {
		return r.fail(obj, err)
	}
	var eab *acme.EAB
	if ref := spec.ACME.ExternalAccountBinding; ref != nil {
		mac, err := r.Secrets.Value(ctx, ns, ref.KeySecretRef)
		if err != nil {
			return r.fail(obj, err)
		}
		eab = &acme.EAB{KeyID: ref.KeyID, MACKey: string(mac)}
	}
	hash, err := accountHash(spec, key)
	if err != nil {
		return r.fail(obj, err)
	}
	if status.AccountURI != "" && status.AccountHash == hash && meta.IsStatusConditionTrue(status.Conditions, edgecertv1alpha1.ReadyCondition) {
		return ctrl.Result{}, nil
	}

	cl, err := r.ACME.Client(spec.ACME.Server, spec.ACME.CABundle)
	if err != nil {
		return r.fail(obj, reconcile.TerminalError(err))
	}
	if spec.ACME.Profile != "" {
		profiles, err := cl.Profiles(ctx)
		if err != nil {
			return r.failACME(obj, err)
		}
		if _, ok := profiles[spec.ACME.Profile]; !ok {
			return r.fail(obj, reconcile.TerminalError(fmt.Errorf("the CA does not offer profile %q", spec.ACME.Profile)))
		}
	}
	uri, err := cl.Register(ctx, key, spec.ACME.Email, eab)
	if err != nil {
		return r.failACME(obj, err)
	}
	status.AccountURI, status.AccountHash = uri, hash
	setConditions(status, metav1.ConditionTrue, edgecertv1alpha1.ReasonAccountRegistered, "ACME account is registered", obj.GetGeneration())
	r.Events.Eventf(obj, nil, corev1.EventTypeNormal, edgecertv1alpha1.ReasonAccountRegistered, "Register", "Registered ACME account %s", uri)
	return ctrl.Result{}, nil
}

// ensureAccountKey reads the account key Secret, creating it with a new
// ECDSA P-256 key when it does not exist. A Secret you made with your own
// key is used as it is. edgecert records obj, by UID, in the owner
// annotation of the Secrets it creates, and adds it to the labelled ones
// an older edgecert created: that is what lets the Secret cache keep
// their data (every Certificate pass reads its issuer's key). The issuer
// names the Secret, so whoever made it, it is this issuer's key.
func (r *Reconciler) ensureAccountKey(ctx context.Context, obj edgecertv1alpha1.GenericIssuer, key types.NamespacedName) (crypto.Signer, error) {
	kind := edgecertv1alpha1.IssuerKind
	if obj.GetNamespace() == "" {
		kind = edgecertv1alpha1.ClusterIssuerKind
	}
	secret, err := r.Secrets.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if secret != nil && kube.IsLabelled(secret) && !kube.OwnedBy(secret, kind, obj) {
		patch := client.MergeFromWithOptions(secret.DeepCopy(), client.MergeFromWithOptimisticLock{})
		secret.Annotations = kube.SetOwner(secret.Annotations, kind, obj)
		if err := r.Client.Patch(ctx, secret, patch, client.FieldOwner(kube.FieldManager)); err != nil {
			return nil, fmt.Errorf("record the owner of account key Secret %s: %w", key, err)
		}
	}
	if secret != nil {
		signer, err := pki.ParseKey(secret.Data[edgecertv1alpha1.AccountKeyDataKey])
		if err != nil {
			return nil, reconcile.TerminalError(fmt.Errorf("account key Secret %s: %s: %w", key, edgecertv1alpha1.AccountKeyDataKey, err))
		}
		return signer, nil
	}
	signer, err := pki.GenerateKey(pki.KeySpec{})
	if err != nil {
		return nil, err
	}
	data, err := pki.EncodeKey(signer)
	if err != nil {
		return nil, err
	}
	secret = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace, Labels: map[string]string{kube.ManagedByLabel: kube.ManagedByValue},
			Annotations: kube.SetOwner(nil, kind, obj)},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{edgecertv1alpha1.AccountKeyDataKey: data},
	}
	if err := r.Client.Create(ctx, secret); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("account key Secret %s appeared while creating it; retrying", key)
		}
		return nil, fmt.Errorf("create account key Secret %s: %w", key, err)
	}
	return signer, nil
}

// fail records err in the conditions. Terminal errors stall; others are
// returned so the workqueue backs off.
func (r *Reconciler) fail(obj edgecertv1alpha1.GenericIssuer, err error) (ctrl.Result, error) {
	reason := edgecertv1alpha1.ReasonAccountFailed
	if errors.Is(err, reconcile.TerminalError(nil)) {
		reason = edgecertv1alpha1.ReasonInvalidSpec
	}
	setConditions(obj.GetStatus(), metav1.ConditionFalse, reason, kube.TerminalMessage(err), obj.GetGeneration())
	return ctrl.Result{}, err
}

// failACME records an ACME error with the CA's own problem text.
func (r *Reconciler) failACME(obj edgecertv1alpha1.GenericIssuer, err error) (ctrl.Result, error) {
	c := acme.Classify(err)
	setConditions(obj.GetStatus(), metav1.ConditionFalse, edgecertv1alpha1.ReasonAccountFailed, c.Message, obj.GetGeneration())
	r.Events.Eventf(obj, nil, corev1.EventTypeWarning, edgecertv1alpha1.ReasonAccountFailed, "Register", "ACME account registration failed: %s", c.Message)
	switch c.Class {
	case acme.Terminal:
		kube.Conditions{List: &obj.GetStatus().Conditions, Generation: obj.GetGeneration()}.Stalled(edgecertv1alpha1.ReasonAccountFailed, c.Message)
		return kube.Stop(err, 0)
	case acme.RateLimited:
		return ctrl.Result{RequeueAfter: c.RetryAfter}, nil
	}
	return ctrl.Result{}, err
}

// setConditions sets Ready and keeps Stalled in step: Stalled only while a
// person must act (an invalid spec).
func setConditions(status *edgecertv1alpha1.IssuerStatus, ready metav1.ConditionStatus, reason, msg string, gen int64) {
	c := kube.Conditions{List: &status.Conditions, Generation: gen}
	switch {
	case ready == metav1.ConditionTrue:
		c.Ready(reason, msg)
		c.Settled()
	case reason == edgecertv1alpha1.ReasonInvalidSpec:
		c.Stalled(reason, msg)
	default:
		c.NotReady(reason, msg)
		c.Remove(edgecertv1alpha1.StalledCondition)
	}
}

// accountHash identifies the settings an account was registered with.
func accountHash(spec *edgecertv1alpha1.IssuerSpec, key crypto.Signer) (string, error) {
	thumb, err := pki.PublicKeyID(key.Public())
	if err != nil {
		return "", err
	}
	eab := ""
	if spec.ACME.ExternalAccountBinding != nil {
		eab = spec.ACME.ExternalAccountBinding.KeyID
	}
	sum := sha256.Sum256([]byte(spec.ACME.Server + "\x00" + spec.ACME.Email + "\x00" + eab + "\x00" + thumb))
	return hex.EncodeToString(sum[:8]), nil
}

func (r *Reconciler) patchStatus(ctx context.Context, before, after edgecertv1alpha1.GenericIssuer) error {
	if apiequality.Semantic.DeepEqual(before.GetStatus(), after.GetStatus()) {
		return nil
	}
	return r.Client.Status().Patch(ctx, after, client.MergeFrom(before))
}
