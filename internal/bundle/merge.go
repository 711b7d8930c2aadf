package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/pki"
)

// The data keys and type of a kubernetes.io/tls Secret.
const (
	TLSSecretType = "kubernetes.io/tls"
	TLSCertKey    = "tls.crt"
	TLSPrivateKey = "tls.key"
)

// Reasons a selected source is not in the bundle with its current data.
const (
	// ReasonNotFound: a Secret named in the list does not exist.
	ReasonNotFound = "NotFound"
	// ReasonNotPermitted: the Secret is in another namespace and no grant
	// lets this merge read it.
	ReasonNotPermitted = "NotPermitted"
	// ReasonNotTLS: the Secret is not of type kubernetes.io/tls.
	ReasonNotTLS = "NotTLS"
	// ReasonInvalidCertificate: tls.crt or tls.key is missing or does not
	// parse.
	ReasonInvalidCertificate = "InvalidCertificate"
	// ReasonKeyMismatch: tls.key is not the key of tls.crt's leaf.
	ReasonKeyMismatch = "KeyMismatch"
	// ReasonKeyCollision: an earlier source (in namespace/name order) has
	// the same entry names.
	ReasonKeyCollision = "KeyCollision"
	// ReasonBundleTooLarge: the source is good but does not fit the
	// bundle's budget after the sources placed before it.
	ReasonBundleTooLarge = edgecertv1alpha1.ReasonBundleTooLarge
)

// AnyName in a Refused Ref stands for every Secret of a namespace a
// selector looks in but may not read.
const AnyName = "*"

// Source is a selected, readable Secret as read from the API. A Secret
// that is not of type kubernetes.io/tls comes with its type and no data:
// edgecert does not read it.
type Source struct {
	Ref
	UID  string
	Type string
	Data map[string][]byte
}

// origin is the source's identity.
func (s Source) origin() Origin {
	return Origin{Namespace: s.Namespace, Name: s.Name, UID: s.UID}
}

// Input is everything a merge decides on.
type Input struct {
	// KeyTemplate names entries; empty means DefaultKeyTemplate.
	KeyTemplate string
	// Sources are the selected Secrets that exist and may be read.
	Sources []Source
	// Missing are Secrets named in the list that do not exist.
	Missing []Ref
	// Refused are selected Secrets this merge may not read.
	Refused []Ref
	// Current is the bundle's data now, where the last good data of a
	// source that turned bad is taken from. Nil when there is no bundle.
	Current map[string][]byte
	// CurrentOrigins is the bundle's origin record (ParseOrigins): which
	// source each chain entry of Current came from. A bad source gets the
	// last good data of its entries only when the record names that very
	// source (namespace, name and UID); without a record no data is kept.
	CurrentOrigins map[string]Origin
	// Budget bounds the bundle; zero means DefaultBudget.
	Budget Budget
}

// Included is a source whose entries are in the bundle.
type Included struct {
	Ref
	CertKey  string
	KeyKey   string
	Hosts    []string
	NotAfter time.Time
	// Stale: the source is invalid now; its entries hold the last good data.
	Stale bool
}

// Excluded is a selected source whose current data is not in the bundle.
type Excluded struct {
	Ref
	Reason  string
	Message string
}

// Collision is two sources that map to the same entry; Kept has it.
type Collision struct {
	Key     string
	Kept    Ref
	Dropped Ref
}

// Result is the bundle and the facts its status reports.
type Result struct {
	// Data is the bundle Secret's data, never nil.
	Data map[string][]byte
	// Checksum is BundleChecksum(Data).
	Checksum string
	// Origins is the new bundle's origin record: the source of each
	// chain entry in Data. Never nil.
	Origins map[string]Origin
	// Bytes is what the bundle costs against its budget: entries, keys
	// and values, and the origin record.
	Bytes int
	// Budget is the budget the merge applied.
	Budget Budget
	// Included is sorted by namespace and name.
	Included []Included
	// Excluded is sorted by namespace and name; a stale source is listed
	// both here (why) and in Included (what the bundle still holds).
	Excluded []Excluded
	// Collisions, in the order they were found.
	Collisions []Collision
	// EarliestExpiry is the soonest NotAfter in Included; zero when empty.
	EarliestExpiry time.Time
}

// TooLarge returns the sources left out for the budget, in namespace/name
// order.
func (r Result) TooLarge() []Ref {
	var refs []Ref
	for _, ex := range r.Excluded {
		if ex.Reason == ReasonBundleTooLarge {
			refs = append(refs, ex.Ref)
		}
	}
	return refs
}

// candidate is a source with entries to place, before collisions and the
// budget.
type candidate struct {
	Included
	origin    Origin
	cert, key []byte
	// incumbent: the bundle's origin record says the entries come from
	// this very source.
	incumbent bool
	// why a stale candidate is stale: its check's reason and message.
	staleReason, staleMessage string
}

// Merge builds the bundle. Each source must be a kubernetes.io/tls Secret
// whose chain parses and whose key matches the leaf; a bad source is left
// out and reported, and if the current bundle holds a good pair under its
// entry names that came from that very source (same namespace, name and
// UID, per the origin record), that last good pair stays. Missing or
// refused sources are removed at once, and their data is never kept for
// another source mapping to the same entries. When two sources map to the
// same entries, the first in namespace/name order keeps them and the other
// is left out and reported.
//
// Then the budget: sources already in the bundle (per the origin record)
// are placed first, then new ones, each group in namespace/name order; a
// source that does not fit in what is left is left out (BundleTooLarge)
// and the next one is tried. So a new source never pushes out one that
// gateways already serve, the outcome does not depend on list order or
// timing, and one oversized source does not keep smaller ones out.
//
// The only error is an invalid key template.
func Merge(in Input) (Result, error) {
	if err := ValidateKeyTemplate(in.KeyTemplate); err != nil {
		return Result{}, err
	}
	budget := in.Budget.orDefault()
	res := Result{Data: map[string][]byte{}, Origins: map[string]Origin{}, Budget: budget}

	sources := slices.Clone(in.Sources)
	slices.SortStableFunc(sources, func(a, b Source) int { return compareRefs(a.Ref, b.Ref) })
	sources = slices.CompactFunc(sources, func(a, b Source) bool { return a.Ref == b.Ref })

	var cands []candidate
	for _, s := range sources {
		certKey, keyKey, err := EntryKeys(in.KeyTemplate, s.Namespace, s.Name)
		if err != nil {
			res.Excluded = append(res.Excluded, Excluded{Ref: s.Ref, Reason: ReasonInvalidCertificate, Message: err.Error()})
			continue
		}
		c := candidate{Included: Included{Ref: s.Ref, CertKey: certKey, KeyKey: keyKey}, origin: s.origin()}
		c.incumbent = s.UID != "" && in.CurrentOrigins[certKey] == c.origin
		reason, msg := check(s)
		if reason == "" {
			c.cert, c.key = s.Data[TLSCertKey], s.Data[TLSPrivateKey]
		} else {
			msg = fmt.Sprintf("%s: %s", s.Ref, msg)
			lastCert, lastKey := in.Current[certKey], in.Current[keyKey]
			if !c.incumbent || lastCert == nil || lastKey == nil {
				res.Excluded = append(res.Excluded, Excluded{Ref: s.Ref, Reason: reason, Message: msg})
				continue
			}
			if _, err := pki.ParseKeyPair(lastCert, lastKey); err != nil {
				res.Excluded = append(res.Excluded, Excluded{Ref: s.Ref, Reason: reason, Message: msg})
				continue
			}
			c.cert, c.key, c.Stale = lastCert, lastKey, true
			c.staleReason, c.staleMessage = reason, msg
		}
		kp, err := pki.ParseKeyPair(c.cert, c.key)
		if err != nil { // cannot happen: checked above
			continue
		}
		c.Hosts = pki.Hosts(kp.Leaf)
		c.NotAfter = kp.Leaf.NotAfter.UTC()
		cands = append(cands, c)
	}

	// Collisions, in namespace/name order.
	var winners []candidate
	owner := map[string]Ref{}
	for _, c := range cands {
		if kept, taken := firstOwner(owner, c.CertKey, c.KeyKey); taken != "" {
			res.Collisions = append(res.Collisions, Collision{Key: taken, Kept: kept, Dropped: c.Ref})
			if c.Stale {
				res.Excluded = append(res.Excluded, Excluded{Ref: c.Ref, Reason: c.staleReason, Message: c.staleMessage})
				continue
			}
			res.Excluded = append(res.Excluded, Excluded{
				Ref:     c.Ref,
				Reason:  ReasonKeyCollision,
				Message: fmt.Sprintf("entry %q of %s is already taken by %s, which comes first in namespace/name order; use a keyTemplate with {namespace}", taken, c.Ref, kept),
			})
			continue
		}
		owner[c.CertKey], owner[c.KeyKey] = c.Ref, c.Ref
		winners = append(winners, c)
	}

	// The budget: incumbents first, then newcomers, each in namespace/name
	// order (winners are in that order already); first fit.
	slices.SortStableFunc(winners, func(a, b candidate) int {
		switch {
		case a.incumbent == b.incumbent:
			return 0
		case a.incumbent:
			return -1
		}
		return 1
	})
	res.Bytes = emptyRecordBytes
	recordBytes := emptyRecordBytes
	for _, c := range winners {
		total, record := c.bytesOf()
		if res.Bytes+total > budget.Bytes || recordBytes+record > budget.OriginRecordBytes {
			if c.Stale {
				res.Excluded = append(res.Excluded, Excluded{Ref: c.Ref, Reason: c.staleReason, Message: c.staleMessage})
				continue
			}
			res.Excluded = append(res.Excluded, Excluded{
				Ref:    c.Ref,
				Reason: ReasonBundleTooLarge,
				Message: fmt.Sprintf("%s: left out: its %d bytes would take the bundle past its budget of %d bytes (a Secret holds at most 1 MiB); sources already in the bundle keep their place, then new ones in namespace/name order",
					c.Ref, total, budget.Bytes),
			})
			continue
		}
		res.Bytes += total
		recordBytes += record
		if c.Stale {
			res.Excluded = append(res.Excluded, Excluded{Ref: c.Ref, Reason: c.staleReason, Message: c.staleMessage + "; the bundle keeps its last good data"})
		}
		res.Data[c.CertKey], res.Data[c.KeyKey] = c.cert, c.key
		res.Origins[c.CertKey] = c.origin
		res.Included = append(res.Included, c.Included)
		if res.EarliestExpiry.IsZero() || c.NotAfter.Before(res.EarliestExpiry) {
			res.EarliestExpiry = c.NotAfter
		}
	}
	slices.SortStableFunc(res.Included, func(a, b Included) int { return compareRefs(a.Ref, b.Ref) })

	for _, r := range in.Missing {
		res.Excluded = append(res.Excluded, Excluded{Ref: r, Reason: ReasonNotFound, Message: fmt.Sprintf("Secret %s does not exist", r)})
	}
	for _, r := range in.Refused {
		what := "Secret " + r.String()
		if r.Name == AnyName {
			what = "Secrets of namespace " + r.Namespace
		}
		res.Excluded = append(res.Excluded, Excluded{Ref: r, Reason: ReasonNotPermitted, Message: what + ": out of reach, no CertMergeGrant there permits this CertMerge; use a ClusterCertMerge or ask that namespace's owner for a grant"})
	}
	slices.SortStableFunc(res.Excluded, func(a, b Excluded) int { return compareRefs(a.Ref, b.Ref) })
	res.Checksum = BundleChecksum(res.Data)
	return res, nil
}

func firstOwner(owner map[string]Ref, keys ...string) (Ref, string) {
	for _, k := range keys {
		if r, ok := owner[k]; ok {
			return r, k
		}
	}
	return Ref{}, ""
}

// check returns why a source is bad, or "" when it is a good TLS Secret.
// Messages name the problem, never key material.
func check(s Source) (reason, message string) {
	if s.Type != TLSSecretType {
		return ReasonNotTLS, fmt.Sprintf("type is %q, not %s; edgecert does not read its data", s.Type, TLSSecretType)
	}
	cert, key := s.Data[TLSCertKey], s.Data[TLSPrivateKey]
	if len(cert) == 0 || len(key) == 0 {
		return ReasonInvalidCertificate, "tls.crt or tls.key is empty"
	}
	if _, err := pki.ParseCertificates(cert); err != nil {
		return ReasonInvalidCertificate, "tls.crt: " + err.Error()
	}
	if _, err := pki.ParseKey(key); err != nil {
		return ReasonInvalidCertificate, "tls.key: " + err.Error()
	}
	if _, err := pki.ParseKeyPair(cert, key); err != nil {
		return ReasonKeyMismatch, err.Error()
	}
	return "", ""
}

// BundleChecksum is the hex SHA-256 of data, over its keys in order with
// lengths, so that no two different bundles share it. Consumers' pod
// templates carry it, so they roll exactly when it changes.
func BundleChecksum(data map[string][]byte) string {
	h := sha256.New()
	var n [8]byte
	for _, k := range slices.Sorted(maps.Keys(data)) {
		binary.BigEndian.PutUint64(n[:], uint64(len(k)))
		h.Write(n[:])
		h.Write([]byte(k))
		binary.BigEndian.PutUint64(n[:], uint64(len(data[k])))
		h.Write(n[:])
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DataEqual reports whether two bundles hold the same entries; nil and
// empty are equal.
func DataEqual(a, b map[string][]byte) bool {
	return maps.EqualFunc(a, b, bytes.Equal)
}
