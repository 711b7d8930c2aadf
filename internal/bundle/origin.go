package bundle

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Origin is the identity of the source Secret whose data a bundle entry
// holds: its namespace, name and UID. A Secret deleted and made again under
// the same name has another UID, so it is another origin.
type Origin struct {
	Namespace string
	Name      string
	UID       string
}

// String is "namespace/name/uid", the form the bundle's origin record
// holds. None of the three may contain a slash (namespaces and names are
// DNS names, UIDs are UUIDs), so the form parses back unambiguously.
func (o Origin) String() string { return o.Namespace + "/" + o.Name + "/" + o.UID }

// Ref is the origin's namespace and name.
func (o Origin) Ref() Ref { return Ref{Namespace: o.Namespace, Name: o.Name} }

// EncodeOrigins is the bundle's origin record: a JSON object from each
// source's chain entry (its ".crt" key; the ".key" entry goes with it) to
// the source's origin, keys sorted, so that the same bundle always has the
// same record. The controller writes it in an annotation of the bundle
// Secret, in the same write as the data, so the two never disagree.
func EncodeOrigins(origins map[string]Origin) string {
	if len(origins) == 0 {
		return "{}"
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(origins)) {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		val, _ := json.Marshal(origins[k].String())
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.String()
}

// ParseOrigins reads a record EncodeOrigins wrote. An empty record is an
// empty map; a record that does not parse is an error, and the caller
// must then trust no entry of the bundle (keep no last good data).
func ParseOrigins(record string) (map[string]Origin, error) {
	out := map[string]Origin{}
	if record == "" {
		return out, nil
	}
	var raw map[string]string
	if err := json.Unmarshal([]byte(record), &raw); err != nil {
		return nil, fmt.Errorf("origin record: %w", err)
	}
	for k, v := range raw {
		parts := strings.Split(v, "/")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return nil, fmt.Errorf("origin record: entry %q: %q is not namespace/name/uid", k, v)
		}
		out[k] = Origin{Namespace: parts[0], Name: parts[1], UID: parts[2]}
	}
	return out, nil
}

// originRecordCost is how many bytes one source adds to the origin record
// at most: its chain entry and origin, each quoted, a colon and a comma.
// Names are DNS names and UIDs UUIDs, so JSON escapes nothing.
func originRecordCost(certKey string, o Origin) int {
	return len(certKey) + len(o.String()) + len(`"":"",`)
}
