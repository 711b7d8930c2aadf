package gateway

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// OwnersAnnotation on a Gateway maps the port name of each server edgecert
// wrote to its GatewayService, "namespace/name", as a JSON object. A
// server is edgecert's only when its port name is listed there; every other
// server was written by someone else and is never changed. The annotation
// and the servers are written in one update, so they cannot disagree.
const OwnersAnnotation = "edgecert.dev/servers"

// Owners maps port names to GatewayService keys.
type Owners map[string]string

// ParseOwners reads the annotation; an empty value is no owners.
func ParseOwners(value string) (Owners, error) {
	owners := Owners{}
	if value == "" {
		return owners, nil
	}
	if err := json.Unmarshal([]byte(value), &owners); err != nil {
		return nil, fmt.Errorf("annotation %s: %w", OwnersAnnotation, err)
	}
	return owners, nil
}

// String is the annotation value, with keys in order so that an unchanged
// map writes the same bytes.
func (o Owners) String() string {
	b, _ := json.Marshal(map[string]string(o)) // map[string]string always marshals; keys come out sorted
	return string(b)
}

// PortNamesOf lists the port names owned by key, sorted.
func (o Owners) PortNamesOf(key string) []string {
	var names []string
	for name, k := range o {
		if k == key {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Owned returns the entries of servers whose port name owners gives to
// key, in order: key's servers, as Replace finds them.
func Owned(servers []any, owners Owners, key string) []any {
	var out []any
	for _, e := range servers {
		if k, ok := owners[RawPortName(e)]; ok && k == key {
			out = append(out, e)
		}
	}
	return out
}

// Replace returns servers with key's servers (the entries whose port name
// owners gives to key) replaced by desired, or removed when desired is nil,
// and the owners updated to match. Every other entry is returned as it was,
// in its place. A changed server keeps its place; a new one goes last.
// Entries that owners lists but that are missing from servers are dropped
// from owners.
func Replace(servers []any, owners Owners, key string, desired any) ([]any, Owners) {
	newOwners := maps.Clone(owners)
	present := map[string]bool{}
	out := make([]any, 0, len(servers)+1)
	placed := desired == nil
	for _, e := range servers {
		name := RawPortName(e)
		present[name] = true
		if owners[name] != key {
			out = append(out, e)
			continue
		}
		delete(newOwners, name)
		if !placed {
			out = append(out, desired)
			placed = true
		}
	}
	if !placed {
		out = append(out, desired)
	}
	for name := range newOwners {
		if !present[name] {
			delete(newOwners, name)
		}
	}
	if desired != nil {
		newOwners[RawPortName(desired)] = key
	}
	return out, newOwners
}
