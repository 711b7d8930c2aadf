package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// RenewRequest says which Certificates to renew now: Names in Namespace,
// or with All every Certificate matching Selector in Namespace (in every
// namespace with AllNamespaces).
type RenewRequest struct {
	Namespace     string
	Names         []string
	All           bool
	AllNamespaces bool
	Selector      labels.Selector
}

// Renewed is one Certificate asked to renew.
type Renewed struct {
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	RequestedAt string `json:"requestedAt"`
}

// Renew sets edgecert.dev/renew-requested-at to now on each Certificate
// of req; the controller then orders a new certificate for each, once,
// without waiting for the renewal time or an earlier failure's backoff.
func Renew(ctx context.Context, c client.Client, req RenewRequest, now time.Time) ([]Renewed, error) {
	switch {
	case req.All && len(req.Names) > 0:
		return nil, errors.New("give Certificate names or --all, not both")
	case !req.All && len(req.Names) == 0:
		return nil, errors.New("name the Certificates to renew, or give --all (with -l to select by label)")
	case !req.All && req.Selector != nil && !req.Selector.Empty():
		return nil, errors.New("-l selects among all Certificates: give it with --all")
	}
	var targets []edgecertv1alpha1.Certificate
	if req.All {
		var list edgecertv1alpha1.CertificateList
		opts := []client.ListOption{}
		if !req.AllNamespaces {
			opts = append(opts, client.InNamespace(req.Namespace))
		}
		if req.Selector != nil {
			opts = append(opts, client.MatchingLabelsSelector{Selector: req.Selector})
		}
		if err := c.List(ctx, &list, opts...); err != nil {
			return nil, fmt.Errorf("list Certificates: %w", err)
		}
		targets = list.Items
	} else {
		for _, name := range req.Names {
			var cert edgecertv1alpha1.Certificate
			if err := c.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: name}, &cert); err != nil {
				if apierrors.IsNotFound(err) {
					return nil, fmt.Errorf("certificate %q not found in namespace %q", name, req.Namespace)
				}
				return nil, fmt.Errorf("get certificate %s/%s: %w", req.Namespace, name, err)
			}
			targets = append(targets, cert)
		}
	}
	slices.SortFunc(targets, func(a, b edgecertv1alpha1.Certificate) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	// Nanoseconds, so that two requests in one second are two requests.
	value := now.UTC().Format(time.RFC3339Nano)
	out := []Renewed{}
	for i := range targets {
		cert := &targets[i]
		patch := client.MergeFrom(cert.DeepCopy())
		if cert.Annotations == nil {
			cert.Annotations = map[string]string{}
		}
		cert.Annotations[edgecertv1alpha1.RenewRequestedAtAnnotation] = value
		if err := c.Patch(ctx, cert, patch); err != nil {
			return out, fmt.Errorf("request renewal of %s/%s: %w", cert.Namespace, cert.Name, err)
		}
		out = append(out, Renewed{Namespace: cert.Namespace, Name: cert.Name, RequestedAt: value})
	}
	return out, nil
}

// PrintRenewed prints one line per Certificate asked to renew.
func (p *Printer) PrintRenewed(rs []Renewed) error {
	if done, err := p.structured(rs); done {
		return err
	}
	var b strings.Builder
	if len(rs) == 0 {
		b.WriteString("No Certificate matched: nothing renewed.\n")
	}
	for _, r := range rs {
		fmt.Fprintf(&b, "Renewal requested for %s/%s (%s=%s); follow it with `edgecert explain -n %s %s`\n", r.Namespace, r.Name, edgecertv1alpha1.RenewRequestedAtAnnotation, r.RequestedAt, r.Namespace, r.Name)
	}
	return p.emit(&b)
}
