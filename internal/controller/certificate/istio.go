package certificate

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/kube"
)

// defaultRoutePropagation is how long a new route is given to reach the
// gateway pods before the CA is told to validate: istiod debounces pushes
// for 100 ms and a push usually lands well within a second.
const defaultRoutePropagation = 2 * time.Second

// +kubebuilder:rbac:groups=networking.istio.io,resources=gateways;virtualservices,verbs=get;list;watch;create;patch;delete

// maxRoutedOrderAge bounds the life of an order whose HTTP-01 challenges
// are routed through the shared ingress gateway: the CA validates in
// seconds, so a route up longer than this serves no order worth waiting
// for, and is removed with the abandoned order.
const maxRoutedOrderAge = 10 * time.Minute

// orderLimits are the order state machine's limits: maxAge, or
// maxRoutedOrderAge when shorter and the order routes through Istio.
func orderLimits(maxAge time.Duration, routed bool) issuance.Limits {
	if routed {
		maxAge = min(maxAge, maxRoutedOrderAge)
	}
	return issuance.Limits{MaxAge: maxAge}
}

// routesThroughIstio reports whether a challenge of the order in flight
// is answered through an Istio route.
func (s *scope) routesThroughIstio() bool {
	if s.iss == nil || s.cert.Status.Order == nil {
		return false
	}
	for _, ch := range s.cert.Status.Order.Challenges {
		if istioRoute(s.iss, ch) != nil {
			return true
		}
	}
	return false
}

// istioRoute returns the Istio route spec of the solver that answers ch,
// nil when the challenge is not HTTP-01 through Istio.
func istioRoute(iss *issuerFacts, ch edgecertv1alpha1.ChallengeStatus) *edgecertv1alpha1.HTTP01IstioRoute {
	solvers := iss.obj.GetSpec().ACME.Solvers
	if ch.Type != issuance.HTTP01 || ch.Solver < 0 || ch.Solver >= len(solvers) || solvers[ch.Solver].HTTP01 == nil {
		return nil
	}
	return solvers[ch.Solver].HTTP01.Istio
}

// presentIstioRoute makes the order's HTTP-01 challenges of one solver
// reachable through the ingress gateway and returns how long to wait
// before the CA may be told to validate (0: now). The objects are applied
// once per order and process; their creation time, kept by the API
// server, tells a restarted controller how long they have existed.
func (r *Reconciler) presentIstioRoute(ctx context.Context, s *scope, solver int, spec *edgecertv1alpha1.HTTP01IstioRoute) (time.Duration, error) {
	cert := s.cert
	delay := defaultRoutePropagation
	if spec.PropagationDelay != nil {
		delay = spec.PropagationDelay.Duration
	}
	key := "istio-route " + cert.Status.Order.URL + " " + strconv.Itoa(solver)
	if created, ok := r.presented.Load(key); ok {
		return max(0, created.(time.Time).Add(delay).Sub(r.Now())), nil
	}
	var hosts []string
	for _, ch := range cert.Status.Order.Challenges {
		if ch.Type == issuance.HTTP01 && ch.Solver == solver {
			hosts = append(hosts, ch.DNSName)
		}
	}
	route := gateway.NewChallengeRoute(cert.Namespace, gateway.ChallengeRouteName(cert.Name, solver), hosts, spec)
	if err := r.followRedirects(ctx, s, &route); err != nil {
		return 0, err
	}
	if err := route.Validate(); err != nil {
		return 0, reconcile.TerminalError(fmt.Errorf("HTTP-01 route through Istio: %w", err))
	}
	if route.ExistingGateway == "" {
		if _, err := r.applyRouteObject(ctx, cert, kube.IstioGatewayGVK, route.Name, route.GatewaySpec()); err != nil {
			return 0, err
		}
	}
	created, err := r.applyRouteObject(ctx, cert, kube.IstioVirtualServiceGVK, route.Name, route.VirtualServiceSpec())
	if err != nil {
		return 0, err
	}
	r.presented.Store(key, created)
	s.event(corev1.EventTypeNormal, edgecertv1alpha1.ReasonChallengeRouted, "Present",
		fmt.Sprintf("Routing %s<token> for %s through Gateway %s to Service %s/%s", gateway.ChallengePathPrefix, strings.Join(route.Hosts, ", "),
			strings.Join(route.Gateways(), ", "), spec.SolverService.Namespace, spec.SolverService.Name))
	return max(0, created.Add(delay).Sub(r.Now())), nil
}

// followRedirects binds the route also to the Gateways serving the hosts
// on port 443 when a Gateway of the same pods redirects them to HTTPS
// (see gateway.HTTPSRedirects), and says so in an event.
func (r *Reconciler) followRedirects(ctx context.Context, s *scope, route *gateway.ChallengeRoute) error {
	cert := s.cert
	var list unstructured.UnstructuredList
	list.SetGroupVersionKind(kube.IstioGatewayGVK.GroupVersion().WithKind("GatewayList"))
	if err := r.Client.List(ctx, &list); err != nil {
		return fmt.Errorf("list Istio Gateways: %w", err)
	}
	gateways := make([]gateway.Gateway, 0, len(list.Items))
	selector := route.Selector
	for _, u := range list.Items {
		spec, _, _ := unstructured.NestedMap(u.Object, "spec")
		gw, err := gateway.ParseGateway(u.GetNamespace(), u.GetName(), spec)
		if err != nil {
			continue
		}
		if gw.Namespace+"/"+gw.Name == route.ExistingGateway {
			selector = gw.Selector
		}
		gateways = append(gateways, gw)
	}
	if route.ExistingGateway != "" && selector == nil {
		return reconcile.TerminalError(fmt.Errorf("HTTP-01 route through Istio: Gateway %s not found", route.ExistingGateway))
	}
	var redirecting []string
	for _, h := range route.Hosts {
		red, https := gateway.HTTPSRedirects(gateways, selector, cert.Namespace, h)
		for _, g := range red {
			if !slices.Contains(redirecting, g) {
				redirecting = append(redirecting, g)
			}
		}
		for _, g := range https {
			if len(red) > 0 && !slices.Contains(route.RedirectGateways, g) {
				route.RedirectGateways = append(route.RedirectGateways, g)
			}
		}
	}
	if len(redirecting) > 0 {
		s.event(corev1.EventTypeWarning, edgecertv1alpha1.ReasonChallengeRedirected, "Present",
			fmt.Sprintf("Gateway %s redirects the hosts to HTTPS (tls.httpsRedirect) before any route; the CA follows the redirect to port 443, where the challenge is routed on Gateways %v: this needs a certificate already served there. Redirect with a VirtualService route instead, or use DNS-01",
				strings.Join(redirecting, ", "), route.RedirectGateways))
	}
	return nil
}

// applyRouteObject creates or updates one Gateway or VirtualService of a
// challenge route, owned by the Certificate (so it goes with it), and
// returns the latest time it can have been created. An object of that
// name that edgecert did not create for this Certificate is never touched.
func (r *Reconciler) applyRouteObject(ctx context.Context, cert *edgecertv1alpha1.Certificate, gvk schema.GroupVersionKind, name string, spec map[string]any) (time.Time, error) {
	existing := kube.NewUnstructured(gvk, "", "")
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: cert.Namespace, Name: name}, existing)
	switch {
	case err == nil && !ownsRouteObject(existing, cert):
		return time.Time{}, reconcile.TerminalError(fmt.Errorf("HTTP-01 route through Istio: %s %s/%s exists and edgecert did not create it for this Certificate; delete or rename it", gvk.Kind, cert.Namespace, name))
	case err != nil && !apierrors.IsNotFound(err):
		return time.Time{}, fmt.Errorf("get %s %s/%s: %w", gvk.Kind, cert.Namespace, name, err)
	}
	u := kube.NewUnstructured(gvk, cert.Namespace, name)
	u.Object["spec"] = spec
	u.SetLabels(map[string]string{kube.ManagedByLabel: kube.ManagedByValue, CertificateNameLabel: cert.Name})
	u.SetOwnerReferences([]metav1.OwnerReference{ownerRef(cert)})
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(kube.FieldManager), client.ForceOwnership); err != nil {
		return time.Time{}, fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, cert.Namespace, name, err)
	}
	// The API server keeps creation times in whole seconds: the object may
	// be up to a second younger than its timestamp says.
	return u.GetCreationTimestamp().Add(time.Second), nil
}

// ownsRouteObject reports whether edgecert created obj for cert.
func ownsRouteObject(obj client.Object, cert *edgecertv1alpha1.Certificate) bool {
	return kube.OwnedBy(obj, certificateKind, cert)
}

// removeIstioRoutes deletes the challenge routes of the order in flight and
// returns what failed (the objects are owned by the Certificate, so the
// garbage collector removes them with it at the latest).
func (r *Reconciler) removeIstioRoutes(ctx context.Context, s *scope) []error {
	cert := s.cert
	done := map[int]bool{}
	var errs []error
	for _, ch := range cert.Status.Order.Challenges {
		spec := istioRoute(s.iss, ch)
		if spec == nil || done[ch.Solver] {
			continue
		}
		done[ch.Solver] = true
		r.presented.Delete("istio-route " + cert.Status.Order.URL + " " + strconv.Itoa(ch.Solver))
		name := gateway.ChallengeRouteName(cert.Name, ch.Solver)
		for _, gvk := range []schema.GroupVersionKind{kube.IstioVirtualServiceGVK, kube.IstioGatewayGVK} {
			if err := r.deleteRouteObject(ctx, cert, gvk, name); err != nil {
				errs = append(errs, fmt.Errorf("remove HTTP-01 route %s %s/%s: %w", gvk.Kind, cert.Namespace, name, err))
			}
		}
	}
	return errs
}

// deleteRouteObject deletes one route object if edgecert made it for cert.
func (r *Reconciler) deleteRouteObject(ctx context.Context, cert *edgecertv1alpha1.Certificate, gvk schema.GroupVersionKind, name string) error {
	u := kube.NewUnstructured(gvk, "", "")
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: cert.Namespace, Name: name}, u); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !ownsRouteObject(u, cert) {
		return nil
	}
	uid := u.GetUID()
	return client.IgnoreNotFound(r.Client.Delete(ctx, u, client.Preconditions{UID: &uid}))
}
