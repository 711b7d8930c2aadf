package certificate

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/kube"
)

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=edgecert.dev,resources=gatewaypolicies,verbs=get;list;watch

// authorize refuses a Certificate whose hosts its namespace has not
// claimed (GatewayPolicy claims, once any exist or when they are required)
// or whose issuer does not allow it (spec.allowed), before any order is
// made: Ready=False and Stalled with reason HostNotClaimed or
// IssuerNotAllowed. The GatewayPolicy and Namespace watches bring it back
// when claims or labels change.
func (r *Reconciler) authorize(ctx context.Context, s *scope) error {
	var policies edgecertv1alpha1.GatewayPolicyList
	if err := r.Client.List(ctx, &policies); err != nil {
		return fmt.Errorf("list GatewayPolicies: %w", err)
	}
	ns, err := kube.Namespace(ctx, r.Client, askingNamespace(s.cert, gateway.WorkloadNamespaces(policies.Items, r.WorkloadNamespace)))
	if err != nil {
		return err
	}
	hosts := s.cert.Spec.DNSNames
	if gateway.ClaimsEnforced(policies.Items, r.RequireHostClaims) {
		if unclaimed := gateway.Unclaimed(policies.Items, ns, hosts); len(unclaimed) > 0 {
			s.facts.block(edgecertv1alpha1.ReasonHostNotClaimed, gateway.HostNotClaimedMessage(ns.Name, unclaimed), true)
			s.stop()
			return nil
		}
	}
	if why := gateway.IssuerRefusal(s.iss.obj.GetSpec().Allowed, s.iss.kind, s.iss.obj.GetName(), ns, hosts); why != "" {
		s.facts.block(edgecertv1alpha1.ReasonIssuerNotAllowed, why, true)
		s.stop()
	}
	return nil
}

// askingNamespace is the namespace whose claims a Certificate's hosts are
// checked against: its own, except for a Certificate edgecert generated
// into a gateway workload namespace the platform configured, which asks
// for its source's namespace (the tenant that wrote the annotated
// Gateway). Only the platform and edgecert write in those namespaces, so
// the source annotation there can be trusted; anywhere else it could be
// forged and is ignored.
func askingNamespace(cert *edgecertv1alpha1.Certificate, workloadNamespaces []string) string {
	src, ok := ingress.ParseSource(cert.Annotations[ingress.SourceAnnotation])
	if ok && src.Namespace != cert.Namespace && slices.Contains(workloadNamespaces, cert.Namespace) {
		return src.Namespace
	}
	return cert.Namespace
}

// everyCertificate maps a GatewayPolicy change to every Certificate: a
// claim given or taken back can change any of them. A pass that finds
// nothing to do writes nothing.
func (r *Reconciler) everyCertificate(ctx context.Context, _ client.Object) []reconcile.Request {
	return r.certificatesIn(ctx, "")
}

// certificatesInNamespace maps a Namespace's label change to its
// Certificates, whose claims may match differently now.
func (r *Reconciler) certificatesInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	return r.certificatesIn(ctx, o.GetName())
}

func (r *Reconciler) certificatesIn(ctx context.Context, namespace string) []reconcile.Request {
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	var certs edgecertv1alpha1.CertificateList
	if err := r.Client.List(ctx, &certs, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(certs.Items))
	for i := range certs.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: certs.Items[i].Namespace, Name: certs.Items[i].Name}})
	}
	return reqs
}
