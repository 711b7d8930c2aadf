package registry

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Policy says what Plan may do to owned records.
type Policy string

// Policies, as external-dns names them.
const (
	// Sync creates, updates and deletes.
	Sync Policy = "sync"
	// UpsertOnly creates and updates, never deletes.
	UpsertOnly Policy = "upsert-only"
	// CreateOnly only creates.
	CreateOnly Policy = "create-only"
)

// Action is what a Change does.
type Action string

// Actions. An update replaces the whole RRset Old with New.
const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Change is one RRset change. Create and Update carry New; Update and
// Delete carry Old, as the zone holds it.
type Change struct {
	Action Action
	Old    *Record
	New    *Record
}

// Name is the name the change is at.
func (c Change) Name() string {
	if c.New != nil {
		return c.New.Name
	}
	return c.Old.Name
}

// Conflict is an endpoint Plan did not publish, and why.
type Conflict struct {
	// Name and Type of the wanted record.
	Name string
	Type string
	// Resource asking for it.
	Resource string
	// Owner is the owner id holding the name, "" when it is held by a
	// record without an ownership record (made by hand) or by data of
	// another type.
	Owner string
	// Reason in words, stable.
	Reason string
}

// Options are a zone's registry settings.
type Options struct {
	OwnerID string
	Naming  Naming
	Policy  Policy
	// AESKey, 32 bytes, encrypts the ownership records written and
	// decrypts those read, as external-dns's --txt-encrypt-enabled and
	// --txt-encrypt-aes-key do. Empty: plain values.
	AESKey []byte
	// Rand gives the nonces of encrypted values (crypto/rand when nil).
	Rand io.Reader
}

// Result is a plan: the changes to apply, in order (deletes first, so a
// record of another type at a name is gone before its replacement is
// added), the endpoints not published, and the records owned once the
// changes are applied.
type Result struct {
	Changes   []Change
	Conflicts []Conflict
	Owned     []Record
}

// ownership is what the zone's ownership records say about one record.
type ownership struct {
	labels Labels
}

// Plan computes the changes that make the zone (current, every RRset it
// holds) publish desired under opts:
//
//   - a record is owned when an ownership record with opts.OwnerID claims
//     it (the new format for its type, else the old same-name format,
//     except for AAAA as in external-dns); an owned record that matches is
//     left alone, whoever wrote it (adoption);
//   - a wanted record whose name holds a record owned by another owner
//     id, or one with no ownership record, is a Conflict; nothing is
//     written there;
//   - a CNAME is never added next to other data at its name, nor other
//     data next to a CNAME (RFC 1034, section 3.6.2): a Conflict;
//   - an owned record no longer wanted is deleted with its ownership
//     record under Sync, kept otherwise; CreateOnly never updates;
//   - an owned record whose new-format ownership record is missing gets
//     one (as external-dns does for the old format).
//
// Several endpoints at one name and type must agree; otherwise the one of
// the first resource (in order) is published and the others are
// Conflicts.
func Plan(current []Record, desired []Endpoint, opts Options) Result {
	n := opts.Naming
	byKey := map[string]Record{}
	byName := map[string][]Record{}
	for _, r := range current {
		r = Normalize(r)
		byKey[r.Key()] = r
		byName[r.Name] = append(byName[r.Name], r)
	}

	// What ownership records say, by the key of the record they are for
	// ("name type"; "name " for the old format).
	claims := map[string]ownership{}
	txtNames := map[string]bool{}
	for _, r := range byKey {
		if r.Type != TypeTXT || len(r.Values) == 0 {
			continue
		}
		labels, ok := opts.Labels(r.Values[0])
		if !ok {
			continue
		}
		name, typ, ok := n.RecordName(r.Name)
		if !ok {
			continue
		}
		txtNames[r.Name] = true
		claims[name+" "+typ] = ownership{labels: labels}
	}
	ownerOf := func(r Record) (ownership, bool) {
		name := r.Name
		if first, rest, ok := strings.Cut(name, "."); ok && first == "*" && n.WildcardReplacement != "" {
			name = strings.ToLower(n.WildcardReplacement) + "." + rest
		}
		if o, ok := claims[name+" "+r.Type]; ok {
			return o, true
		}
		if r.Type != TypeAAAA {
			if o, ok := claims[name+" "]; ok {
				return o, true
			}
		}
		return ownership{}, false
	}
	owned := func(r Record) bool {
		o, ok := ownerOf(r)
		return ok && o.labels[OwnerLabel] == opts.OwnerID
	}

	want := mergeDesired(desired)
	var res Result
	var creates, updates, deletes []Change
	ownedAfter := map[string]Record{}
	wanted := map[string]bool{}

	for _, w := range want.endpoints {
		rec := Normalize(Record{Name: w.Name, Type: w.Type, TTL: w.TTL, Values: w.Targets})
		wanted[rec.Key()] = true
	}

	// Owned records at a name that this plan deletes, by name: they do not
	// count as other data when a CNAME is added there.
	going := map[string]bool{}
	if opts.Policy == Sync {
		for _, r := range byKey {
			if slices.Contains(managedTypes, r.Type) && owned(r) && !wanted[r.Key()] {
				going[r.Key()] = true
			}
		}
	}

	for _, w := range want.endpoints {
		rec := Normalize(Record{Name: w.Name, Type: w.Type, TTL: w.TTL, Values: w.Targets})
		conflict := func(owner, reason string) {
			res.Conflicts = append(res.Conflicts, Conflict{Name: rec.Name, Type: rec.Type, Resource: w.Resource, Owner: owner, Reason: reason})
		}
		txtName := n.TXTName(rec.Name, rec.Type)
		cur, exists := byKey[rec.Key()]
		if exists {
			o, claimed := ownerOf(cur)
			switch {
			case !claimed:
				conflict("", fmt.Sprintf("a %s record at %s exists without an ownership record (made by hand?); it is left alone", rec.Type, strings.TrimSuffix(rec.Name, ".")))
				continue
			case o.labels[OwnerLabel] != opts.OwnerID:
				conflict(o.labels[OwnerLabel], fmt.Sprintf("the %s record at %s is owned by %q", rec.Type, strings.TrimSuffix(rec.Name, "."), o.labels[OwnerLabel]))
				continue
			}
			ownedAfter[cur.Key()] = cur
			if !sameRecord(cur, rec) && opts.Policy != CreateOnly {
				old := cur
				updates = append(updates, Change{Action: Update, Old: &old, New: &rec})
				ownedAfter[cur.Key()] = rec
			}
			if _, ok := byKey[txtName+" "+TypeTXT]; !ok {
				// Claimed by the old format only: add the new one.
				txt := opts.ownershipRecord(txtName, rec.TTL, w.Resource)
				creates = append(creates, Change{Action: Create, New: &txt})
			}
			continue
		}
		// Nothing of this type at the name: check the other data there and
		// an ownership record left without its record.
		if clash := otherData(byName[rec.Name], rec.Type, going, txtNames); clash != "" {
			conflict("", fmt.Sprintf("cannot add a %s record at %s next to its %s record: a CNAME cannot share its name with other data (RFC 1034)", rec.Type, strings.TrimSuffix(rec.Name, "."), clash))
			continue
		}
		txtKey := txtName + " " + TypeTXT
		existingTXT, txtThere := byKey[txtKey]
		if txtThere {
			labels, ok := opts.Labels(existingTXT.Values[0])
			if !ok || labels[OwnerLabel] != opts.OwnerID {
				owner := ""
				if ok {
					owner = labels[OwnerLabel]
				}
				conflict(owner, fmt.Sprintf("the ownership record %s is not edgecert's (owner %q)", strings.TrimSuffix(txtName, "."), owner))
				continue
			}
		}
		r := rec
		creates = append(creates, Change{Action: Create, New: &r})
		if !txtThere {
			txt := opts.ownershipRecord(txtName, rec.TTL, w.Resource)
			creates = append(creates, Change{Action: Create, New: &txt})
		}
		ownedAfter[rec.Key()] = rec
	}
	res.Conflicts = append(res.Conflicts, want.conflicts...)

	for _, r := range byKey {
		if !slices.Contains(managedTypes, r.Type) || !owned(r) || wanted[r.Key()] {
			continue
		}
		if opts.Policy != Sync {
			ownedAfter[r.Key()] = r
			continue
		}
		old := r
		deletes = append(deletes, Change{Action: Delete, Old: &old})
		if txt, ok := byKey[n.TXTName(r.Name, r.Type)+" "+TypeTXT]; ok {
			if l, ok := opts.Labels(txt.Values[0]); ok && l[OwnerLabel] == opts.OwnerID {
				t := txt
				deletes = append(deletes, Change{Action: Delete, Old: &t})
			}
		}
	}

	sortChanges(deletes)
	sortChanges(updates)
	sortChanges(creates)
	res.Changes = slices.Concat(deletes, updates, creates)
	for _, r := range ownedAfter {
		res.Owned = append(res.Owned, r)
	}
	slices.SortFunc(res.Owned, func(a, b Record) int { return cmp.Compare(a.Key(), b.Key()) })
	slices.SortFunc(res.Conflicts, func(a, b Conflict) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Resource, b.Resource))
	})
	return res
}

// otherData names the type of a record at the name that may not stand next
// to a new record of typ: anything but the owned records going away and
// ownership records for a CNAME, a CNAME for anything else.
func otherData(atName []Record, typ string, going, txtNames map[string]bool) string {
	types := []string{}
	for _, r := range atName {
		if going[r.Key()] || r.Type == typ {
			continue
		}
		if r.Type == TypeTXT && txtNames[r.Name] && typ != TypeCNAME {
			continue
		}
		if typ == TypeCNAME || r.Type == TypeCNAME {
			types = append(types, r.Type)
		}
	}
	slices.Sort(types)
	return strings.Join(types, ", ")
}

// ownershipRecord is the new-format ownership record for a record.
func (o Options) ownershipRecord(name string, ttl uint32, resource string) Record {
	l := Labels{OwnerLabel: o.OwnerID}
	if resource != "" {
		l[ResourceLabel] = resource
	}
	return Record{Name: name, Type: TypeTXT, TTL: ttl, Values: []string{o.ownershipValue(l)}}
}

func sameRecord(a, b Record) bool {
	return a.TTL == b.TTL && slices.Equal(a.Values, b.Values)
}

func sortChanges(cs []Change) {
	slices.SortFunc(cs, func(a, b Change) int {
		ka, kb := changeKey(a), changeKey(b)
		return cmp.Compare(ka, kb)
	})
}

func changeKey(c Change) string {
	if c.New != nil {
		return c.New.Key()
	}
	return c.Old.Key()
}

type merged struct {
	endpoints []Endpoint
	conflicts []Conflict
}

// mergeDesired keeps one endpoint per name and type; endpoints at one name
// with other targets, or another type, lose to the first resource.
func mergeDesired(desired []Endpoint) merged {
	eps := slices.Clone(desired)
	for i := range eps {
		eps[i].Name = fqdn(eps[i].Name)
		r := Normalize(Record{Type: eps[i].Type, Values: eps[i].Targets})
		eps[i].Type, eps[i].Targets = r.Type, r.Values
	}
	slices.SortStableFunc(eps, func(a, b Endpoint) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Resource, b.Resource), cmp.Compare(a.Type, b.Type))
	})
	var out merged
	chosen := map[string][]Endpoint{} // by name
	for _, e := range eps {
		prev := chosen[e.Name]
		clash := ""
		for _, p := range prev {
			switch {
			case p.Type == e.Type && slices.Equal(p.Targets, e.Targets) && p.TTL == e.TTL:
				clash = "same"
			case p.Type == e.Type:
				clash = fmt.Sprintf("%s also asks for %s %s with other targets or TTL", p.Resource, strings.TrimSuffix(e.Name, "."), e.Type)
			case p.Type == TypeCNAME || e.Type == TypeCNAME:
				clash = fmt.Sprintf("%s asks for a %s record at %s: a CNAME cannot share its name with other data (RFC 1034)", p.Resource, p.Type, strings.TrimSuffix(e.Name, "."))
			}
			if clash != "" {
				break
			}
		}
		switch clash {
		case "":
			chosen[e.Name] = append(chosen[e.Name], e)
			out.endpoints = append(out.endpoints, e)
		case "same":
		default:
			out.conflicts = append(out.conflicts, Conflict{Name: e.Name, Type: e.Type, Resource: e.Resource, Reason: clash})
		}
	}
	return out
}
