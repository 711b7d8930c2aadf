// Package manager builds edgecert's controller-runtime manager from command
// line options. cmd/edgecert, the demo and the integration tests all start
// the controller through it, so they run the same wiring.
package manager

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/acme"
	"github.com/edgecert/edgecert/internal/controller/certificate"
	"github.com/edgecert/edgecert/internal/controller/certmerge"
	"github.com/edgecert/edgecert/internal/controller/dnszone"
	"github.com/edgecert/edgecert/internal/controller/gatewayservice"
	"github.com/edgecert/edgecert/internal/controller/issuer"
	"github.com/edgecert/edgecert/internal/controller/shim"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/metrics"
	"github.com/edgecert/edgecert/internal/scheme"
)

// Options are the settings of the `edgecert controller` command.
type Options struct {
	// MetricsAddr is where Prometheus metrics are served; "0" turns them off.
	MetricsAddr string
	// ProbeAddr serves /healthz and /readyz.
	ProbeAddr string
	// PprofAddr serves Go's /debug/pprof profiles; "0" (the default)
	// turns them off.
	PprofAddr string
	// LeaderElect makes only one replica reconcile at a time. On by default:
	// two replicas reconciling at once would both order certificates.
	LeaderElect bool
	// LeaderElectionNamespace holds the leader Lease. Required out of a cluster.
	LeaderElectionNamespace string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election: a
	// standby takes over at most LeaseDuration after the leader died.
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// Namespace is where edgecert runs and keeps what it owns (account keys,
	// solver Service). Defaults to LeaderElectionNamespace.
	Namespace string
	// GracefulShutdown bounds how long runnables get to stop.
	GracefulShutdown time.Duration
	// HTTP01Addr is where HTTP-01 challenges are answered; "0" disables
	// the listener.
	HTTP01Addr string
	// HTTP01MaxConnections caps the connections the HTTP-01 listener
	// serves at once; more wait for one to close (0: the default).
	HTTP01MaxConnections int
	// HTTP01SelfCheck makes edgecert fetch each HTTP-01 answer the way the
	// CA will before telling the CA to validate, so that an unreachable
	// answer costs no failed validation at the CA. It fetches
	// http://<host>:<HTTP01SelfCheckPort>/.well-known/acme-challenge/<token>,
	// resolving the host through HTTP01SelfCheckNameservers (host:port;
	// empty: the system resolver).
	HTTP01SelfCheck            bool
	HTTP01SelfCheckPort        int
	HTTP01SelfCheckNameservers []string
	// MaxConcurrentReconciles bounds parallel Certificate passes.
	MaxConcurrentReconciles int
	// MaxConcurrentReconcilesPerIssuer bounds the Certificate passes that
	// talk to one issuer's CA and DNS at once (0: half of
	// MaxConcurrentReconciles), so a silent CA leaves workers for others.
	MaxConcurrentReconcilesPerIssuer int
	// ACMERequestTimeout bounds each call to an ACME CA.
	ACMERequestTimeout time.Duration
	// MaxOrderAge abandons ACME orders not finished in that time.
	MaxOrderAge time.Duration
	// RequireHostClaims refuses hosts no GatewayPolicy claims for the
	// namespace even while no policy has claims (docs/security.md).
	RequireHostClaims bool
	// IssuerAmbientCredentials lets namespaced Issuers use edgecert's own
	// cloud identity and endpoint overrides (off: ClusterIssuers only).
	IssuerAmbientCredentials bool
	// KubeAPIQPS and KubeAPIBurst bound requests to the API server, per
	// resource type: controller-runtime has one client, and one token
	// bucket, per type. At 50 QPS the three Certificate writes of an
	// issuance capped it at 17 a second (docs/design/
	// 2026-11-30-certificate-engine.md); the API server's own Priority and
	// Fairness protects it.
	KubeAPIQPS   float32
	KubeAPIBurst int
	// IngressShimCertManagerAnnotations makes the Ingress shim honour
	// cert-manager's annotations (cert-manager.io/cluster-issuer, ...) as
	// well as edgecert's, so Ingresses written for cert-manager work
	// unchanged.
	IngressShimCertManagerAnnotations bool
	// DefaultIssuerName and DefaultIssuerKind name the issuer used for
	// Ingresses annotated "kubernetes.io/tls-acme: true" (with the
	// cert-manager compatibility on); empty name: none.
	DefaultIssuerName string
	DefaultIssuerKind string
	// IstioGatewayWorkloadNamespace is where the Istio Gateway shim puts
	// Certificates when no single ingress gateway Service selects a
	// Gateway's pods; empty: the Gateway's namespace.
	IstioGatewayWorkloadNamespace string
	// ShimSecretOwnerReference makes the Secrets of shim-generated
	// Certificates owned by them, so removing the annotation or the source
	// deletes the Secret too (by default it stays).
	ShimSecretOwnerReference bool
	// GatewayService tunes the GatewayService controller; it has no flags
	// (its defaults suit a cluster; tests shorten SecretResyncPeriod).
	GatewayService gatewayservice.Options
}

// DefaultOptions are the defaults a platform engineer expects: metrics on
// :8080, probes on :8081, HTTP-01 answers on :8089, leader election on (so
// that a second replica is a standby, never a second issuer).
func DefaultOptions() Options {
	return Options{
		MetricsAddr:             ":8080",
		ProbeAddr:               ":8081",
		PprofAddr:               "0",
		LeaderElect:             true,
		LeaseDuration:           15 * time.Second,
		RenewDeadline:           10 * time.Second,
		RetryPeriod:             2 * time.Second,
		ACMERequestTimeout:      acme.DefaultRequestTimeout,
		MaxOrderAge:             issuance.DefaultMaxOrderAge,
		LeaderElectionNamespace: "edgecert-system",
		Namespace:               "edgecert-system",
		GracefulShutdown:        30 * time.Second,
		HTTP01Addr:              ":8089",
		HTTP01MaxConnections:    certificate.DefaultHTTP01MaxConnections,
		HTTP01SelfCheck:         true,
		HTTP01SelfCheckPort:     certificate.DefaultHTTP01SelfCheckPort,
		MaxConcurrentReconciles: 10,
		KubeAPIQPS:              500,
		KubeAPIBurst:            1000,
		DefaultIssuerKind:       edgecertv1alpha1.ClusterIssuerKind,
	}
}

// BindFlags registers the options as command line flags.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", o.MetricsAddr, `Address the Prometheus metrics endpoint binds to; "0" disables it.`)
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", o.ProbeAddr, "Address the /healthz and /readyz probes bind to.")
	fs.StringVar(&o.PprofAddr, "pprof-bind-address", o.PprofAddr, `Address Go's /debug/pprof profiles are served on, for measuring CPU and memory; "0" disables them.`)
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Elect a leader so that only one replica reconciles at a time.")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "Namespace of the leader election Lease.")
	fs.DurationVar(&o.LeaseDuration, "leader-election-lease-duration", o.LeaseDuration, "How long a standby waits for a silent leader before taking over.")
	fs.DurationVar(&o.RenewDeadline, "leader-election-renew-deadline", o.RenewDeadline, "How long the leader tries to renew its lease before it steps down (shorter than the lease duration).")
	fs.DurationVar(&o.RetryPeriod, "leader-election-retry-period", o.RetryPeriod, "How often replicas try to acquire or renew the lease.")
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "Namespace edgecert runs in and keeps its own objects in.")
	fs.StringVar(&o.HTTP01Addr, "http01-bind-address", o.HTTP01Addr, `Address the HTTP-01 challenge listener binds to (expose it with a Service); "0" disables it.`)
	fs.IntVar(&o.HTTP01MaxConnections, "http01-max-connections", o.HTTP01MaxConnections, "Connections the HTTP-01 listener serves at once; more wait until one closes.")
	fs.BoolVar(&o.HTTP01SelfCheck, "http01-self-check", o.HTTP01SelfCheck, "Fetch each HTTP-01 answer the way the CA will before telling the CA to validate; until it is served, wait (a failed validation counts against the CA's limits).")
	fs.IntVar(&o.HTTP01SelfCheckPort, "http01-self-check-port", o.HTTP01SelfCheckPort, "Port the HTTP-01 self-check connects to (the CA connects to 80).")
	fs.StringSliceVar(&o.HTTP01SelfCheckNameservers, "http01-self-check-nameservers", o.HTTP01SelfCheckNameservers, "Nameservers (host:port) the HTTP-01 self-check resolves hosts with, e.g. public resolvers when the cluster's DNS answers differently from the Internet's; empty: the system resolver.")
	fs.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", o.MaxConcurrentReconciles, "How many Certificates are reconciled in parallel.")
	fs.IntVar(&o.MaxConcurrentReconcilesPerIssuer, "max-concurrent-reconciles-per-issuer", o.MaxConcurrentReconcilesPerIssuer, "How many of those may talk to one issuer's CA and DNS at once (0: half), so that a silent CA cannot hold every worker.")
	fs.DurationVar(&o.ACMERequestTimeout, "acme-request-timeout", o.ACMERequestTimeout, "Deadline of each request to an ACME CA.")
	fs.DurationVar(&o.MaxOrderAge, "max-order-age", o.MaxOrderAge, "Give up an ACME order not finished in that time (its records are removed) and try again after a backoff.")
	fs.BoolVar(&o.RequireHostClaims, "require-host-claims", o.RequireHostClaims, "Refuse every host no GatewayPolicy claims for the namespace, even while no GatewayPolicy has claims (by default claims are enforced once any exist).")
	fs.BoolVar(&o.IssuerAmbientCredentials, "issuer-ambient-credentials", o.IssuerAmbientCredentials, "Let namespaced Issuers use edgecert's own cloud identity (Route 53 without access keys) and endpoint overrides; off: ClusterIssuers only.")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "Requests per second to the Kubernetes API server.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "Burst of requests to the Kubernetes API server.")
	fs.BoolVar(&o.IngressShimCertManagerAnnotations, "ingress-shim-cert-manager-annotations", o.IngressShimCertManagerAnnotations, "Honour cert-manager's annotations (cert-manager.io/cluster-issuer, cert-manager.io/issuer, key and renewal ones) on Ingresses, for migrating from cert-manager.")
	fs.BoolVar(&o.ShimSecretOwnerReference, "shim-secret-owner-reference", o.ShimSecretOwnerReference, "Delete the Secret of a shim-generated Certificate with it (when the annotation or the source is removed); by default the Secret stays.")
	fs.StringVar(&o.DefaultIssuerName, "default-issuer-name", o.DefaultIssuerName, `Issuer for Ingresses annotated "kubernetes.io/tls-acme: true" (with --ingress-shim-cert-manager-annotations).`)
	fs.StringVar(&o.DefaultIssuerKind, "default-issuer-kind", o.DefaultIssuerKind, "Kind of --default-issuer-name: ClusterIssuer or Issuer.")
	fs.StringVar(&o.IstioGatewayWorkloadNamespace, "istio-gateway-workload-namespace", o.IstioGatewayWorkloadNamespace, "Namespace of the ingress gateway pods, for Istio Gateways whose pods no single gateway Service selects; empty: the Gateway's namespace.")
	fs.DurationVar(&o.GracefulShutdown, "graceful-shutdown-timeout", o.GracefulShutdown, "How long controllers get to stop after a termination signal.")
}

// New builds a manager for the cluster that cfg points at, with health and
// readiness checks, and every edgecert controller registered.
func New(cfg *rest.Config, o Options) (ctrl.Manager, error) {
	cfg = rest.CopyConfig(cfg)
	if o.KubeAPIQPS > 0 {
		cfg.QPS, cfg.Burst = o.KubeAPIQPS, o.KubeAPIBurst
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme.New(),
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:  o.ProbeAddr,
		PprofBindAddress:        o.PprofAddr,
		LeaderElection:          o.LeaderElect,
		LeaderElectionID:        "edgecert-controller",
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		// A replica that stops cleanly hands over at once.
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &o.LeaseDuration,
		RenewDeadline:                 &o.RenewDeadline,
		RetryPeriod:                   &o.RetryPeriod,
		GracefulShutdownTimeout:       &o.GracefulShutdown,
		Cache:                         cacheOptions(),
		Client:                        clientOptions(),
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("add readiness check: %w", err)
	}
	if err := setupControllers(mgr, o); err != nil {
		return nil, err
	}
	return mgr, nil
}

// cacheOptions keeps the cache to what edgecert owns. Of Secrets, the
// manager watches only the metadata of those labelled
// app.kubernetes.io/managed-by=edgecert (every controller watches them
// with builder.OnlyMetadata), trimmed to the labels and annotation
// edgecert reads: anyone can set that label, so a labelled Secret's data
// never enters the manager, not even in the initial list. The data of
// Secrets edgecert wrote is kept by kube.SecretCache; others are read on
// demand (kube.Secrets).
func cacheOptions() cache.Options {
	managed := labels.SelectorFromSet(labels.Set{kube.ManagedByLabel: kube.ManagedByValue})
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Label: managed, Transform: kube.SecretMetadataTransform(secretLabels, []string{kube.OwnerAnnotation})},
	}}
}

// secretLabels are the labels of a Secret that edgecert's event handlers
// and lists read; the Secret informer keeps no other.
var secretLabels = []string{
	kube.ManagedByLabel,
	certificate.CertificateNameLabel,
	gatewayservice.GatewayServiceNamespaceLabel,
	gatewayservice.GatewayServiceNameLabel,
	certmerge.CertMergeLabel,
	certmerge.ClusterCertMergeLabel,
}

// clientOptions make the manager's client read Secrets from the API server,
// never from a cache: a typed Secret read through it would otherwise start
// an informer holding every labelled Secret's data. Controllers read
// Secrets through kube.Secrets. Unstructured objects (Istio Gateways,
// XListenerSets) are read from the cache, as typed ones are: the kinds
// read so are those the controllers watch. Read live, each write to a
// shared Gateway made the Istio Gateway shim GET all of it again (100 KB
// for 500 servers, make bench).
func clientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}, Unstructured: true}}
}

// setupControllers registers each edgecert controller with the manager. The
// list is explicit, in one place, so a reader sees what runs.
func setupControllers(mgr ctrl.Manager, o Options) error {
	engine := &acme.Engine{Observe: metrics.ObserveACME, RequestTimeout: o.ACMERequestTimeout}
	// One Secret cache for every controller: each Secret edgecert wrote
	// is kept once.
	secrets := kube.NewSecrets(mgr.GetCache(), mgr.GetAPIReader(), o.Namespace)
	if err := issuer.SetupWithManager(mgr, engine, o.Namespace, secrets, o.IssuerAmbientCredentials); err != nil {
		return fmt.Errorf("set up issuer controllers: %w", err)
	}
	if err := certificate.SetupWithManager(context.Background(), mgr, engine, certificate.Options{
		ClusterResourceNamespace: o.Namespace,
		Secrets:                  secrets,
		MaxConcurrentReconciles:  o.MaxConcurrentReconciles,
		MaxConcurrentPerIssuer:   o.MaxConcurrentReconcilesPerIssuer,
		MaxOrderAge:              o.MaxOrderAge,
		HTTP01SelfCheck:          o.http01SelfCheck(),

		RequireHostClaims:             o.RequireHostClaims,
		WorkloadNamespace:             o.IstioGatewayWorkloadNamespace,
		AllowIssuerAmbientCredentials: o.IssuerAmbientCredentials,
	}); err != nil {
		return fmt.Errorf("set up certificate controller: %w", err)
	}
	if err := certmerge.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up certmerge controllers: %w", err)
	}
	gsOpts := o.GatewayService
	gsOpts.Secrets = secrets
	if err := gatewayservice.SetupWithManager(context.Background(), mgr, gsOpts); err != nil {
		return fmt.Errorf("set up gatewayservice controller: %w", err)
	}
	shimOpts := shim.Options{
		Annotations:            ingress.Options{CertManagerAnnotations: o.IngressShimCertManagerAnnotations},
		IstioWorkloadNamespace: o.IstioGatewayWorkloadNamespace,
		SecretOwnerReference:   o.ShimSecretOwnerReference,
		Secrets:                secrets,
		RequireHostClaims:      o.RequireHostClaims,
	}
	if o.DefaultIssuerName != "" {
		if o.DefaultIssuerKind != edgecertv1alpha1.IssuerKind && o.DefaultIssuerKind != edgecertv1alpha1.ClusterIssuerKind {
			return fmt.Errorf("--default-issuer-kind %q: want Issuer or ClusterIssuer", o.DefaultIssuerKind)
		}
		shimOpts.Annotations.DefaultIssuer = &edgecertv1alpha1.IssuerReference{Name: o.DefaultIssuerName, Kind: o.DefaultIssuerKind}
	}
	if err := shim.SetupWithManager(mgr, shimOpts); err != nil {
		return fmt.Errorf("set up shim controllers: %w", err)
	}
	if err := dnszone.SetupWithManager(mgr, dnszone.Options{Namespace: o.Namespace, Secrets: secrets, RequireHostClaims: o.RequireHostClaims}); err != nil {
		return fmt.Errorf("set up dnszone controller: %w", err)
	}
	if o.HTTP01Addr != "0" && o.HTTP01Addr != "" {
		if err := mgr.Add(&certificate.HTTP01Solver{Addr: o.HTTP01Addr, Reader: mgr.GetClient(), MaxConnections: o.HTTP01MaxConnections}); err != nil {
			return fmt.Errorf("add HTTP-01 solver: %w", err)
		}
	}
	return nil
}

// http01SelfCheck is the self-check the options ask for; nil when off.
func (o Options) http01SelfCheck() *certificate.HTTP01SelfCheck {
	if !o.HTTP01SelfCheck {
		return nil
	}
	return &certificate.HTTP01SelfCheck{Port: o.HTTP01SelfCheckPort, Nameservers: o.HTTP01SelfCheckNameservers}
}
