package certificate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/acme"
	"github.com/edgecert/edgecert/internal/kube"
)

// Field indexes on Certificates.
const (
	// issuerIndex is "<Kind>/<name>" of spec.issuerRef.
	issuerIndex = "spec.issuerRef"
	// tokenIndex holds the HTTP-01 tokens of the order in flight.
	tokenIndex = "status.order.challenges.token"
)

// wakeBuffer is how many wakes of queued Certificates may wait for the
// controller; a wake that finds it full is dropped, and the queued pass
// looks again by itself.
const wakeBuffer = 4096

// Options tune the Certificate controller.
type Options struct {
	// ClusterResourceNamespace holds ClusterIssuers' Secrets.
	ClusterResourceNamespace string
	// Secrets are the Secret readers the manager's controllers share
	// (kube.NewSecrets); zero: the controller's own.
	Secrets kube.Secrets
	// MaxConcurrentReconciles bounds parallel passes (each is short).
	MaxConcurrentReconciles int
	// MaxConcurrentPerIssuer bounds the passes talking to one issuer at
	// once; 0 means half of MaxConcurrentReconciles, rounded up.
	MaxConcurrentPerIssuer int
	// MaxOrderAge, ReconcileTimeout, DNSTimeout and CleanUpTimeout: see
	// Reconciler (0: the defaults).
	MaxOrderAge      time.Duration
	ReconcileTimeout time.Duration
	DNSTimeout       time.Duration
	CleanUpTimeout   time.Duration
	// HTTP01SelfCheck, when set, fetches each HTTP-01 answer the way the
	// CA will before the CA is told to validate it.
	HTTP01SelfCheck *HTTP01SelfCheck
	// RequireHostClaims, WorkloadNamespace and
	// AllowIssuerAmbientCredentials: see Reconciler.
	RequireHostClaims             bool
	WorkloadNamespace             string
	AllowIssuerAmbientCredentials bool
}

// SetupWithManager registers the Certificate controller, its watches on
// issuers and on the Secrets it wrote, and the field indexes it and the
// HTTP-01 solver use.
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, engine *acme.Engine, opts Options) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &edgecertv1alpha1.Certificate{}, issuerIndex, func(o client.Object) []string {
		ref := o.(*edgecertv1alpha1.Certificate).Spec.IssuerRef
		return []string{ref.KindOrDefault() + "/" + ref.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &edgecertv1alpha1.Certificate{}, tokenIndex, func(o client.Object) []string {
		order := o.(*edgecertv1alpha1.Certificate).Status.Order
		if order == nil {
			return nil
		}
		var tokens []string
		for _, ch := range order.Challenges {
			if ch.KeyAuthorization != "" {
				tokens = append(tokens, ch.Token)
			}
		}
		return tokens
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &edgecertv1alpha1.Certificate{}, orderURLIndex, func(o client.Object) []string {
		if order := o.(*edgecertv1alpha1.Certificate).Status.Order; order != nil {
			return []string{order.URL}
		}
		return nil
	}); err != nil {
		return err
	}
	concurrency := opts.MaxConcurrentReconciles
	if concurrency == 0 {
		concurrency = 10
	}
	perIssuer := opts.MaxConcurrentPerIssuer
	if perIssuer == 0 {
		perIssuer = (concurrency + 1) / 2
	}
	if opts.Secrets.Cached == nil {
		opts.Secrets = kube.NewSecrets(mgr.GetCache(), mgr.GetAPIReader(), opts.ClusterResourceNamespace)
	}
	r := &Reconciler{
		Client:                   mgr.GetClient(),
		APIReader:                mgr.GetAPIReader(),
		Secrets:                  opts.Secrets,
		ACME:                     engine,
		Events:                   mgr.GetEventRecorder("edgecert-certificate"),
		ClusterResourceNamespace: opts.ClusterResourceNamespace,
		Now:                      time.Now,
		Rand:                     rand.Float64,
		MaxOrderAge:              opts.MaxOrderAge,
		ReconcileTimeout:         opts.ReconcileTimeout,
		DNSTimeout:               opts.DNSTimeout,
		CleanUpTimeout:           opts.CleanUpTimeout,
		MaxConcurrentPerIssuer:   perIssuer,
		HTTP01SelfCheck:          opts.HTTP01SelfCheck,

		RequireHostClaims:             opts.RequireHostClaims,
		WorkloadNamespace:             opts.WorkloadNamespace,
		AllowIssuerAmbientCredentials: opts.AllowIssuerAmbientCredentials,
	}
	r.slots.Wake = make(chan event.GenericEvent, wakeBuffer)
	byIssuer := func(kind string) handler.EventHandler {
		return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			var list edgecertv1alpha1.CertificateList
			listOpts := []client.ListOption{client.MatchingFields{issuerIndex: kind + "/" + o.GetName()}}
			if o.GetNamespace() != "" {
				listOpts = append(listOpts, client.InNamespace(o.GetNamespace()))
			}
			if err := r.Client.List(ctx, &list, listOpts...); err != nil {
				return nil
			}
			reqs := make([]reconcile.Request, 0, len(list.Items))
			for _, c := range list.Items {
				reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Name}})
			}
			return reqs
		})
	}
	bySecret := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		name := o.GetLabels()[CertificateNameLabel]
		if name == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
	})
	ns := kube.NewNamespaceMetadata()
	b := ctrl.NewControllerManagedBy(mgr).
		Named("certificate").
		For(&edgecertv1alpha1.Certificate{})
	// Moving from cert-manager: a cert-manager Certificate that goes frees
	// its Secret for the Certificates waiting on it (ManagedByCertManager).
	// Without cert-manager's CRDs there is nothing to watch.
	if _, err := mgr.GetRESTMapper().RESTMapping(certManagerCertificateGVK.GroupKind(), certManagerCertificateGVK.Version); err == nil {
		cm := &metav1.PartialObjectMetadata{}
		cm.SetGroupVersionKind(certManagerCertificateGVK)
		b = b.Watches(cm, handler.EnqueueRequestsFromMapFunc(r.waitingOnCertManager), builder.OnlyMetadata, builder.WithPredicates(deletedOnly))
	} else if !meta.IsNoMatchError(err) {
		return fmt.Errorf("look up %s: %w", certManagerCertificateGVK, err)
	}
	return b.
		Watches(&edgecertv1alpha1.Issuer{}, byIssuer(edgecertv1alpha1.IssuerKind)).
		Watches(&edgecertv1alpha1.ClusterIssuer{}, byIssuer(edgecertv1alpha1.ClusterIssuerKind)).
		Watches(&corev1.Secret{}, bySecret, builder.OnlyMetadata).
		Watches(&edgecertv1alpha1.GatewayPolicy{}, handler.EnqueueRequestsFromMapFunc(r.everyCertificate)).
		Watches(ns, handler.EnqueueRequestsFromMapFunc(r.certificatesInNamespace), builder.WithPredicates(predicate.LabelChangedPredicate{}), builder.OnlyMetadata).
		WatchesRawSource(source.Channel(r.slots.Wake, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Complete(r)
}
