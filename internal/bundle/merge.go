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
)

// AnyName in a Refused Ref stands for every Secret of a namespace a
// selector looks in but may not read.
const AnyName = "*"

// Source is a selected, readable Secret as read from the API.
type Source struct {
	Ref
	Type string
	Data map[string][]byte
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

// candidate is a source with entries to place, before collisions.
type candidate struct {
	Included
	cert, key []byte
}

// Merge builds the bundle. Each source must be a kubernetes.io/tls Secret
// whose chain parses and whose key matches the leaf; a bad source is left
// out and reported, and if the current bundle holds a good pair under its
// entry names, that last good pair stays. Missing or refused sources are
// removed at once. When two sources map to the same entries, the first in
// namespace/name order keeps them and the other is left out and reported.
// The only error is an invalid key template.
func Merge(in Input) (Result, error) {
	if err := ValidateKeyTemplate(in.KeyTemplate); err != nil {
		return Result{}, err
	}
	res := Result{Data: map[string][]byte{}}

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
		c := candidate{Included: Included{Ref: s.Ref, CertKey: certKey, KeyKey: keyKey}}
		reason, msg := check(s)
		if reason == "" {
			c.cert, c.key = s.Data[TLSCertKey], s.Data[TLSPrivateKey]
		} else {
			msg = fmt.Sprintf("%s: %s", s.Ref, msg)
			lastCert, lastKey := in.Current[certKey], in.Current[keyKey]
			if lastCert != nil && lastKey != nil {
				if _, err := pki.ParseKeyPair(lastCert, lastKey); err == nil {
					c.cert, c.key, c.Stale = lastCert, lastKey, true
					msg += "; the bundle keeps its last good data"
				}
			}
			res.Excluded = append(res.Excluded, Excluded{Ref: s.Ref, Reason: reason, Message: msg})
			if !c.Stale {
				continue
			}
		}
		kp, err := pki.ParseKeyPair(c.cert, c.key)
		if err != nil { // cannot happen: checked above
			continue
		}
		c.Hosts = pki.Hosts(kp.Leaf)
		c.NotAfter = kp.Leaf.NotAfter.UTC()
		cands = append(cands, c)
	}

	owner := map[string]Ref{}
	for _, c := range cands {
		if kept, taken := firstOwner(owner, c.CertKey, c.KeyKey); taken != "" {
			res.Collisions = append(res.Collisions, Collision{Key: taken, Kept: kept, Dropped: c.Ref})
			res.Excluded = append(res.Excluded, Excluded{
				Ref:     c.Ref,
				Reason:  ReasonKeyCollision,
				Message: fmt.Sprintf("entry %q of %s is already taken by %s, which comes first in namespace/name order; use a keyTemplate with {namespace}", taken, c.Ref, kept),
			})
			continue
		}
		owner[c.CertKey], owner[c.KeyKey] = c.Ref, c.Ref
		res.Data[c.CertKey], res.Data[c.KeyKey] = c.cert, c.key
		res.Included = append(res.Included, c.Included)
		if res.EarliestExpiry.IsZero() || c.NotAfter.Before(res.EarliestExpiry) {
			res.EarliestExpiry = c.NotAfter
		}
	}

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
		return ReasonNotTLS, fmt.Sprintf("type is %q, not %s", s.Type, TLSSecretType)
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
