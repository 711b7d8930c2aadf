package certmerge

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgecert/edgecert/internal/bundle"
)

// sourceReader reads source Secrets straight from the API server, and
// only the data of kubernetes.io/tls Secrets: the API server filters by
// type before anything reaches edgecert.
type sourceReader struct {
	// API lists Secrets (full objects) with field selectors.
	API client.Reader
	// Core is the core/v1 REST client, for the one request controller-
	// runtime's client cannot make: a Secret as a Table row (name and
	// type, no data).
	Core rest.Interface
}

// tlsOnly is the field selector on the TLS type.
var tlsOnly = fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS))

// read reads the selection's sources: by name, and by label selector.
// Secrets the access does not allow are recorded as refused, never read.
func (r sourceReader) read(ctx context.Context, sel bundle.Selection, access bundle.Access) (bundle.Input, error) {
	var in bundle.Input
	for _, ref := range sel.Names {
		if !access.MayRead(ref.Namespace, ref.Name) {
			in.Refused = append(in.Refused, ref)
			continue
		}
		src, found, err := r.named(ctx, ref)
		switch {
		case err != nil:
			return bundle.Input{}, err
		case !found:
			in.Missing = append(in.Missing, ref)
		default:
			in.Sources = append(in.Sources, src)
		}
	}
	for _, s := range sel.Selectors {
		for _, ns := range s.Namespaces {
			if !access.MayReadNamespace(ns) {
				in.Refused = append(in.Refused, bundle.Ref{Namespace: ns, Name: bundle.AnyName})
				continue
			}
			var list corev1.SecretList
			if err := r.API.List(ctx, &list, client.InNamespace(ns),
				client.MatchingLabelsSelector{Selector: s.Labels}, client.MatchingFieldsSelector{Selector: tlsOnly}); err != nil {
				return bundle.Input{}, fmt.Errorf("list source Secrets in %s: %w", ns, err)
			}
			for i := range list.Items {
				secret := &list.Items[i]
				if !access.MayRead(secret.Namespace, secret.Name) {
					in.Refused = append(in.Refused, bundle.Ref{Namespace: secret.Namespace, Name: secret.Name})
					continue
				}
				in.Sources = append(in.Sources, sourceOf(secret))
			}
		}
	}
	return in, nil
}

// named reads one Secret named in the list, the type checked before any
// data is read: a List by name and type returns it, data included, only
// when it is a kubernetes.io/tls Secret (the API server serves a List by
// metadata.name as a read of that one key). When it returns nothing, a
// Table read tells whether the Secret exists and its type, with no data:
// a Secret of another type (an Opaque one holding a password, a service
// account token) never reaches edgecert's memory.
func (r sourceReader) named(ctx context.Context, ref bundle.Ref) (bundle.Source, bool, error) {
	var list corev1.SecretList
	byName := fields.AndSelectors(fields.OneTermEqualSelector("metadata.name", ref.Name), tlsOnly)
	if err := r.API.List(ctx, &list, client.InNamespace(ref.Namespace), client.MatchingFieldsSelector{Selector: byName}); err != nil {
		return bundle.Source{}, false, fmt.Errorf("get source Secret %s: %w", ref, err)
	}
	for i := range list.Items {
		if list.Items[i].Name == ref.Name {
			return sourceOf(&list.Items[i]), true, nil
		}
	}
	typ, found, err := r.secretType(ctx, ref)
	if err != nil || !found {
		return bundle.Source{}, found, err
	}
	if typ == string(corev1.SecretTypeTLS) {
		// Made (again) between the two reads: look again.
		return bundle.Source{}, false, fmt.Errorf("source Secret %s changed while being read", ref)
	}
	return bundle.Source{Ref: ref, Type: typ}, true, nil
}

// tableAccept asks the API server for a Table: the columns kubectl get
// prints (for a Secret: name, type, the number of data keys, age).
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io"

// secretType returns a Secret's type without its data, from the API
// server's Table of it; found is false when it does not exist.
func (r sourceReader) secretType(ctx context.Context, ref bundle.Ref) (typ string, found bool, err error) {
	raw, err := r.Core.Get().Namespace(ref.Namespace).Resource("secrets").Name(ref.Name).
		SetHeader("Accept", tableAccept).Param("includeObject", string(metav1.IncludeNone)).DoRaw(ctx)
	if apierrors.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get the type of source Secret %s: %w", ref, err)
	}
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		return "", false, fmt.Errorf("get the type of source Secret %s: %w", ref, err)
	}
	col := slices.IndexFunc(table.ColumnDefinitions, func(c metav1.TableColumnDefinition) bool { return c.Name == "Type" })
	if col < 0 || len(table.Rows) != 1 || len(table.Rows[0].Cells) <= col {
		return "", false, fmt.Errorf("get the type of source Secret %s: the API server's table has no Type column", ref)
	}
	typ, ok := table.Rows[0].Cells[col].(string)
	if !ok {
		return "", false, fmt.Errorf("get the type of source Secret %s: its Type cell is %T, not a string", ref, table.Rows[0].Cells[col])
	}
	return typ, true, nil
}

func sourceOf(secret *corev1.Secret) bundle.Source {
	return bundle.Source{
		Ref:  bundle.Ref{Namespace: secret.Namespace, Name: secret.Name},
		UID:  string(secret.UID),
		Type: string(secret.Type),
		Data: secret.Data,
	}
}
