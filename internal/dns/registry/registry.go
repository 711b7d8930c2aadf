// Package registry decides which DNS records edgecert owns in a zone, and
// plans the changes that make a zone publish what the gateways serve.
//
// Ownership is external-dns's TXT registry, byte for byte, so edgecert and
// external-dns share zones: next to each A, AAAA or CNAME record it owns,
// an ownership TXT record, named after the record with its type as a
// prefix ("a-www.example.com" for "www.example.com" A; TXTPrefix,
// TXTSuffix and TXTWildcardReplacement as external-dns's --txt-prefix,
// --txt-suffix and --txt-wildcard-replacement), holds
//
//	heritage=external-dns,external-dns/owner=<owner id>,external-dns/resource=<kind>/<namespace>/<name>
//
// with its keys sorted. The format older external-dns versions wrote, a
// TXT at the record's own name (with the prefix or suffix), is read but
// never written, as external-dns does today.
//
// Plan is pure: the records listed from the zone, the endpoints wanted,
// the owner id and the policy go in; the changes and the names edgecert
// may not take come out. A record that no ownership TXT with the owner id
// claims is never changed or deleted.
//
// The package has no Kubernetes or provider imports.
package registry

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Record types edgecert publishes, and the TXT type of ownership records.
const (
	TypeA     = "A"
	TypeAAAA  = "AAAA"
	TypeCNAME = "CNAME"
	TypeTXT   = "TXT"
)

// managedTypes are the types whose records edgecert may own.
var managedTypes = []string{TypeA, TypeAAAA, TypeCNAME}

// affixTypes are the record types external-dns recognizes in the name of an
// ownership record, in the order it tries them.
var affixTypes = []string{"A", "AAAA", "CNAME", "NS", "MX", "PTR", "SRV", "NAPTR", "TXT", "DNAME"}

// recordTypeTemplate in a prefix or suffix is replaced by the record type.
const recordTypeTemplate = "%{record_type}"

// heritage is the value external-dns writes, and requires, in its
// ownership records.
const heritage = "external-dns"

// Label keys of an ownership record (after the "external-dns/" prefix).
const (
	OwnerLabel    = "owner"
	ResourceLabel = "resource"
)

// Record is one RRset: every value of one type at one name.
type Record struct {
	// Name is fully qualified, lower case, with its trailing dot.
	Name string
	// Type is A, AAAA, CNAME, TXT or another type (left alone).
	Type string
	// TTL in seconds.
	TTL uint32
	// Values in the form Normalize gives them (TXT: the character strings
	// joined), sorted.
	Values []string
}

// Key identifies an RRset.
func (r Record) Key() string { return r.Name + " " + r.Type }

// Endpoint is a record edgecert wants published, and who asks for it.
type Endpoint struct {
	// Name is the host, fully qualified with its trailing dot; "*.x." for a
	// wildcard.
	Name string
	// Type is A, AAAA or CNAME.
	Type string
	// TTL in seconds.
	TTL uint32
	// Targets are the values.
	Targets []string
	// Resource is the object that asks for it, "<kind>/<namespace>/<name>"
	// as external-dns writes it (e.g. "gateway/istio-system/public").
	Resource string
}

// Naming maps record names to ownership record names and back, as
// external-dns's affix name mapper does.
type Naming struct {
	Prefix              string
	Suffix              string
	WildcardReplacement string
}

func (n Naming) lower() Naming {
	return Naming{Prefix: strings.ToLower(n.Prefix), Suffix: strings.ToLower(n.Suffix), WildcardReplacement: strings.ToLower(n.WildcardReplacement)}
}

func (n Naming) typeInAffix() bool {
	return strings.Contains(n.Prefix, recordTypeTemplate) || strings.Contains(n.Suffix, recordTypeTemplate)
}

// TXTName is the name of the ownership record of the record of type typ at
// name: the first label gets the type ("a-"), unless the prefix or suffix
// places it with %{record_type}, then the prefix and suffix; a leading "*"
// is first replaced by WildcardReplacement when set.
func (n Naming) TXTName(name, typ string) string {
	n = n.lower()
	typ = strings.ToLower(typ)
	first, rest, hasRest := strings.Cut(name, ".")
	prefix := strings.ReplaceAll(n.Prefix, recordTypeTemplate, typ)
	suffix := strings.ReplaceAll(n.Suffix, recordTypeTemplate, typ)
	if n.WildcardReplacement != "" && first == "*" {
		first = n.WildcardReplacement
	}
	if !n.typeInAffix() {
		first = typ + "-" + first
	}
	if !hasRest {
		return prefix + first + suffix
	}
	return prefix + first + suffix + "." + rest
}

// RecordName reads an ownership record's name back: the name of the record
// it is for, and that record's type ("" for the old format, which names no
// type). ok is false when the name does not carry the prefix or suffix.
func (n Naming) RecordName(txtName string) (name, typ string, ok bool) {
	n = n.lower()
	txtName = strings.ToLower(txtName)
	if n.Suffix == "" {
		return n.dropAffix(txtName)
	}
	if n.Prefix != "" {
		return "", "", false
	}
	dots := strings.Count(n.Suffix, ".")
	parts := strings.SplitN(txtName, ".", 2+dots)
	if len(parts) <= dots {
		return "", "", false
	}
	r, t, ok := n.dropAffix(strings.Join(parts[:1+dots], "."))
	if !ok {
		return "", "", false
	}
	if len(parts) <= 1+dots {
		return r, t, true
	}
	return r + "." + parts[1+dots], t, true
}

// dropAffix removes the prefix (no suffix set) or the suffix from name and
// finds the record type.
func (n Naming) dropAffix(name string) (string, string, bool) {
	prefix, suffix := n.Prefix, n.Suffix
	usePrefix := suffix == ""
	if n.typeInAffix() {
		for _, t := range affixTypes {
			lt := strings.ToLower(t)
			p := strings.ReplaceAll(prefix, recordTypeTemplate, lt)
			s := strings.ReplaceAll(suffix, recordTypeTemplate, lt)
			if usePrefix && strings.HasPrefix(name, p) {
				return strings.TrimPrefix(name, p), t, true
			}
			if !usePrefix && strings.HasSuffix(name, s) {
				return strings.TrimSuffix(name, s), t, true
			}
		}
		prefix = strings.ReplaceAll(prefix, recordTypeTemplate, "")
		suffix = strings.ReplaceAll(suffix, recordTypeTemplate, "")
	}
	switch {
	case usePrefix && strings.HasPrefix(name, prefix):
		r, t := typeFromName(strings.TrimPrefix(name, prefix))
		return r, t, true
	case !usePrefix && strings.HasSuffix(name, suffix):
		r, t := typeFromName(strings.TrimSuffix(name, suffix))
		return r, t, true
	}
	return "", "", false
}

// typeFromName splits "a-www..." into "www..." and A; a name whose part
// before the first "-" is no record type is the old format.
func typeFromName(name string) (string, string) {
	head, _, _ := strings.Cut(name, "-")
	for _, t := range affixTypes {
		if head == strings.ToLower(t) {
			return strings.TrimPrefix(name, head+"-"), t
		}
	}
	return name, ""
}

// Labels are the key/value pairs of an ownership record, without the
// "external-dns/" prefix of their keys.
type Labels map[string]string

// Serialize writes labels as external-dns does: heritage first, then the
// keys in order, each as external-dns/<key>=<value>, comma separated.
func (l Labels) Serialize() string {
	tokens := []string{"heritage=" + heritage}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		tokens = append(tokens, heritage+"/"+k+"="+l[k])
	}
	return strings.Join(tokens, ",")
}

// ParseLabels reads an ownership record's value. ok is false for a TXT
// value that is not external-dns's (no heritage, or another heritage):
// such a TXT record is an ordinary record.
func ParseLabels(value string) (Labels, bool) {
	value = strings.Trim(value, `"`)
	l := Labels{}
	found := false
	for token := range strings.SplitSeq(value, ",") {
		k, v, ok := strings.Cut(token, "=")
		if !ok {
			continue
		}
		if k == "heritage" {
			if v != heritage {
				return nil, false
			}
			found = true
			continue
		}
		if rest, ok := strings.CutPrefix(k, heritage+"/"); ok {
			l[rest] = v
		}
	}
	if !found {
		return nil, false
	}
	return l, true
}

// Normalize puts a record's name and values in the form Plan compares:
// lower-case fully qualified names (CNAME targets too), canonical IP
// addresses, sorted values without duplicates.
func Normalize(r Record) Record {
	r.Name = fqdn(r.Name)
	r.Type = strings.ToUpper(r.Type)
	vals := make([]string, 0, len(r.Values))
	for _, v := range r.Values {
		vals = append(vals, normalizeValue(r.Type, v))
	}
	slices.Sort(vals)
	r.Values = slices.Compact(vals)
	return r
}

func normalizeValue(typ, v string) string {
	switch typ {
	case TypeA, TypeAAAA:
		if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
			return a.Unmap().String()
		}
	case TypeCNAME:
		return fqdn(v)
	}
	return v
}

func fqdn(name string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".") + "."
}

// TargetType is the record type for a target: A for an IPv4 address, AAAA
// for an IPv6 one, CNAME for a host name.
func TargetType(target string) string {
	a, err := netip.ParseAddr(target)
	switch {
	case err != nil:
		return TypeCNAME
	case a.Unmap().Is4():
		return TypeA
	}
	return TypeAAAA
}

// Describe is a short text for a record, for logs and events.
func Describe(r Record) string {
	return fmt.Sprintf("%s %s %s", strings.TrimSuffix(r.Name, "."), r.Type, strings.Join(r.Values, ","))
}
