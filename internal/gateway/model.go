package gateway

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
)

// Gateway is an Istio networking.istio.io Gateway as edgecert reads it:
// which gateway pods it configures and what they serve. It is the one
// model of an Istio Gateway in edgecert (the Istio Gateway shim, the
// GatewayService controller and the HTTP-01 route all read Gateways
// through ParseGateway), so that a field means the same thing everywhere.
// It is for reading: edgecert writes only its own servers (Server.Entry,
// Replace) and never writes a Gateway back from this struct, which drops
// the fields edgecert does not know.
type Gateway struct {
	// Namespace and Name are the Gateway's. A server host's "."
	// namespace means Namespace.
	Namespace, Name string
	// Selector is spec.selector: the labels of the gateway pods that
	// serve the servers. It is nil when the spec has none, and empty but
	// not nil when the spec has an empty one.
	Selector map[string]string
	// Servers are spec.servers in their order, so that Servers[i] is the
	// Gateway's /spec/servers/i (for JSON patches).
	Servers []Server
}

// Server is one entry of a Gateway's spec.servers, with the fields
// edgecert renders and the fields its checks and shims read. Fields it
// does not know are not kept: a Server parsed from a Gateway is for
// checking, and a server someone else wrote is written back in its
// original form (see Replace), never from a Server.
type Server struct {
	Port  Port
	Hosts []string
	// TLS is nil when the server has no tls settings.
	TLS *ServerTLS
	// Bind is read from hand-written servers; edgecert never sets it.
	Bind string
}

// Port is a server's port. Number is a uint32 because Istio's API
// defines it so; ValidateServer checks the 1..65535 that istiod accepts.
type Port struct {
	Number   uint32
	Protocol string
	Name     string
}

// ServerTLS is the part of Istio's ServerTLSSettings that edgecert writes
// (Render) or reads to find where a server's certificate comes from.
type ServerTLS struct {
	HTTPSRedirect      bool
	Mode               string
	ServerCertificate  string
	PrivateKey         string
	CACertificates     string
	CredentialName     string
	CredentialNames    []string
	MinProtocolVersion string
	MaxProtocolVersion string
}

// ParseGateway reads an Istio Gateway's spec from its unstructured content
// (as the API server returns it); namespace and name are the Gateway's. A
// nil spec is a Gateway with no selector and no servers. Fields edgecert
// does not read are ignored; a field of the wrong type, or a port number
// outside uint32, is an error that names the field, such as
// "spec.servers[1].port.number: -1 is out of range 0..4294967295".
func ParseGateway(namespace, name string, spec map[string]any) (Gateway, error) {
	var d decoder
	gw := Gateway{Namespace: namespace, Name: name, Selector: d.stringMap(spec, "spec", "selector")}
	for i, e := range d.list(spec, "spec", "servers") {
		gw.Servers = append(gw.Servers, d.server(e, "spec.servers["+strconv.Itoa(i)+"]"))
	}
	if d.err != nil {
		return Gateway{}, d.err
	}
	return gw, nil
}

// ParseServer reads one spec.servers entry the way ParseGateway reads
// each of them, for code that handles the entries one by one (the
// GatewayService controller keeps the raw entries to write the Gateway
// back). Errors name the field within the entry ("port.number: ...").
// With an error, the Server holds only the entry's port name (RawPortName),
// so that a broken server still keeps its name from others.
func ParseServer(entry any) (Server, error) {
	var d decoder
	s := d.server(entry, "")
	if d.err != nil {
		return Server{Port: Port{Name: RawPortName(entry)}}, d.err
	}
	return s, nil
}

// RawPortName is the port name of a spec.servers entry as the API server
// returns it, "" when it has none. It is how entries are matched to their
// owners (see Replace) without parsing them.
func RawPortName(entry any) string {
	m, _ := entry.(map[string]any)
	port, _ := m["port"].(map[string]any)
	name, _ := port["name"].(string)
	return name
}

// Entry is s as a spec.servers entry, in the form the API server stores
// and Istio reads: what edgecert writes for its own servers. Fields that
// are empty are left out, as Istio leaves them out.
func (s Server) Entry() map[string]any {
	e := map[string]any{
		"port":  map[string]any{"number": int64(s.Port.Number), "protocol": s.Port.Protocol, "name": s.Port.Name},
		"hosts": toAnySlice(s.Hosts),
	}
	if t := s.TLS; t != nil {
		tls := map[string]any{}
		if t.HTTPSRedirect {
			tls["httpsRedirect"] = true
		}
		for key, v := range map[string]string{
			"mode":               t.Mode,
			"serverCertificate":  t.ServerCertificate,
			"privateKey":         t.PrivateKey,
			"caCertificates":     t.CACertificates,
			"credentialName":     t.CredentialName,
			"minProtocolVersion": t.MinProtocolVersion,
			"maxProtocolVersion": t.MaxProtocolVersion,
		} {
			if v != "" {
				tls[key] = v
			}
		}
		if len(t.CredentialNames) > 0 {
			tls["credentialNames"] = toAnySlice(t.CredentialNames)
		}
		e["tls"] = tls
	}
	if s.Bind != "" {
		e["bind"] = s.Bind
	}
	return e
}

// decoder reads typed fields out of unstructured content and keeps the
// first problem, so that a parser reads every field and checks once. An
// absent or null field reads as its zero value, as encoding/json reads it.
type decoder struct {
	err error
}

// fail records the problem at path ("" for the top) unless an earlier
// one is recorded.
func (d *decoder) fail(path, format string, args ...any) {
	switch {
	case d.err != nil:
	case path == "":
		d.err = fmt.Errorf(format, args...)
	default:
		d.err = fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))
	}
}

// server reads one spec.servers entry found at path ("" for the entry
// itself).
func (d *decoder) server(v any, path string) Server {
	m := d.object(v, path)
	port := d.object(m["port"], join(path, "port"))
	s := Server{
		Port: Port{
			Number:   d.portNumber(port, join(path, "port"), "number"),
			Protocol: d.stringField(port, join(path, "port"), "protocol"),
			Name:     d.stringField(port, join(path, "port"), "name"),
		},
		Hosts: d.stringList(m, path, "hosts"),
		Bind:  d.stringField(m, path, "bind"),
	}
	if m["tls"] != nil {
		p := join(path, "tls")
		t := d.object(m["tls"], p)
		s.TLS = &ServerTLS{
			HTTPSRedirect:      d.boolField(t, p, "httpsRedirect"),
			Mode:               d.stringField(t, p, "mode"),
			ServerCertificate:  d.stringField(t, p, "serverCertificate"),
			PrivateKey:         d.stringField(t, p, "privateKey"),
			CACertificates:     d.stringField(t, p, "caCertificates"),
			CredentialName:     d.stringField(t, p, "credentialName"),
			CredentialNames:    d.stringList(t, p, "credentialNames"),
			MinProtocolVersion: d.stringField(t, p, "minProtocolVersion"),
			MaxProtocolVersion: d.stringField(t, p, "maxProtocolVersion"),
		}
	}
	return s
}

// object reads v, found at path, as a JSON object.
func (d *decoder) object(v any, path string) map[string]any {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(path, "want an object, got %s", kindOf(v))
	}
	return m
}

// list reads m[key] as a JSON array.
func (d *decoder) list(m map[string]any, path, key string) []any {
	v := m[key]
	if v == nil {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		d.fail(join(path, key), "want an array, got %s", kindOf(v))
	}
	return a
}

// stringField reads m[key] as a string.
func (d *decoder) stringField(m map[string]any, path, key string) string {
	v := m[key]
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.fail(join(path, key), "want a string, got %s", kindOf(v))
	}
	return s
}

// boolField reads m[key] as a boolean.
func (d *decoder) boolField(m map[string]any, path, key string) bool {
	v := m[key]
	if v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		d.fail(join(path, key), "want a boolean, got %s", kindOf(v))
	}
	return b
}

// stringList reads m[key] as an array of strings; an empty array gives an
// empty slice, an absent one nil.
func (d *decoder) stringList(m map[string]any, path, key string) []string {
	switch v := m[key].(type) {
	case nil:
		return nil
	case []string:
		return slices.Clone(v)
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				d.fail(join(path, key)+"["+strconv.Itoa(i)+"]", "want a string, got %s", kindOf(e))
			}
			out[i] = s
		}
		return out
	default:
		d.fail(join(path, key), "want an array of strings, got %s", kindOf(v))
		return nil
	}
}

// stringMap reads m[key] as an object of strings; an empty object gives
// an empty map, an absent one nil.
func (d *decoder) stringMap(m map[string]any, path, key string) map[string]string {
	switch v := m[key].(type) {
	case nil:
		return nil
	case map[string]string:
		return maps.Clone(v)
	case map[string]any:
		out := make(map[string]string, len(v))
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // the first bad value found is always the same one
		for _, k := range keys {
			s, ok := v[k].(string)
			if !ok {
				d.fail(fmt.Sprintf("%s[%q]", join(path, key), k), "want a string, got %s", kindOf(v[k]))
			}
			out[k] = s
		}
		return out
	default:
		d.fail(join(path, key), "want an object of strings, got %s", kindOf(v))
		return nil
	}
}

// portNumber reads m[key] as a whole number in 0..4294967295. The API server
// returns integers as int64 and other numbers as float64; a float64 with
// no fraction is taken, as encoding/json takes 443.0.
func (d *decoder) portNumber(m map[string]any, path, key string) uint32 {
	v := m[key]
	if v == nil {
		return 0
	}
	p := join(path, key)
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n := rv.Int(); n >= 0 && n <= math.MaxUint32 {
			return uint32(n)
		}
		d.fail(p, "%d is out of range 0..%d", rv.Int(), uint32(math.MaxUint32))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if n := rv.Uint(); n <= math.MaxUint32 {
			return uint32(n)
		}
		d.fail(p, "%d is out of range 0..%d", rv.Uint(), uint32(math.MaxUint32))
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		switch {
		case f != math.Trunc(f):
			d.fail(p, "%v is not a whole number", f)
		case f < 0 || f > math.MaxUint32:
			d.fail(p, "%v is out of range 0..%d", f, uint32(math.MaxUint32))
		default:
			return uint32(f)
		}
	default:
		d.fail(p, "want a number, got %s", kindOf(v))
	}
	return 0
}

// join is path.key, or key at the top.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// kindOf names v's JSON type, for errors.
func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any, map[string]string:
		return "an object"
	case []any, []string:
		return "an array"
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}
