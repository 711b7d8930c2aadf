// Package route53test is a test double for Amazon Route 53: a loopback HTTP
// server speaking the subset of the Route 53 REST/XML API (version
// 2013-04-01) that edgecert's route53 provider uses, with records kept in
// memory. Route 53 cannot be reached from the test bed, so the provider is
// tested against this double, which is NOT Route 53: it has no propagation
// delay unless a test asks for one, no quotas, and checks only that requests
// carry a SigV4 Authorization header, not the signature.
//
// What it does follow is the behaviour a provider can get wrong: RRsets
// change as a whole; CREATE of an existing RRset, DELETE of a missing one or
// with values that differ, unquoted or duplicate TXT values and names
// outside the zone fail the whole batch with InvalidChangeBatch; names and
// values come back in Route 53's presentation form; RRsets are listed in
// Route 53's order from a start name and type; changes are PENDING until
// the test calls SyncChanges. Tests read the records with TXT or RecordSet
// and inject errors such as Throttling with FailNext.
package route53test

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the Route 53 test double. Point the provider's BaseEndpoint at
// URL. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the API, e.g. http://127.0.0.1:34567.
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	zones    []*zone
	changes  map[string]*change
	failures []failure
	calls    map[string]int
	seq      int
}

type zone struct {
	id      string
	name    string
	private bool
	sets    map[setKey]*rrset
}

type setKey struct{ name, typ string }

type rrset struct {
	name   string
	typ    string
	ttl    int64
	values []string // presentation form, e.g. "\"abc\"" for TXT
}

type change struct {
	id        string
	status    string
	submitted time.Time
}

type failure struct {
	op, code, message string
}

// NewServer starts the double on a free loopback port. Close it when done.
func NewServer() *Server {
	s := &Server{changes: map[string]*change{}, calls: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// AddZone creates a public hosted zone with its SOA and NS RRsets, as
// Route 53's CreateHostedZone does, and returns its ID (without the
// "/hostedzone/" prefix).
func (s *Server) AddZone(name string) string { return s.addZone(name, false) }

// AddPrivateZone creates a private hosted zone, which a public zone of the
// same name may shadow in ListHostedZonesByName.
func (s *Server) AddPrivateZone(name string) string { return s.addZone(name, true) }

func (s *Server) addZone(name string, private bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	z := &zone{id: fmt.Sprintf("ZEDGE%09d", s.seq), name: canonical(name), private: private, sets: map[setKey]*rrset{}}
	z.sets[setKey{z.name, "SOA"}] = &rrset{name: z.name, typ: "SOA", ttl: 900,
		values: []string{"ns-1.awsdns-test. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}}
	z.sets[setKey{z.name, "NS"}] = &rrset{name: z.name, typ: "NS", ttl: 172800,
		values: []string{"ns-1.awsdns-test.", "ns-2.awsdns-test."}}
	s.zones = append(s.zones, z)
	return z.id
}

// TXT returns the TXT values at fqdn in any hosted zone, unquoted, in the
// order Route 53 holds them. Nil when there is no TXT RRset there.
func (s *Server) TXT(fqdn string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, z := range s.zones {
		if set := z.sets[setKey{canonical(fqdn), "TXT"}]; set != nil {
			for _, v := range set.values {
				u, err := unquote(v)
				if err != nil {
					u = v
				}
				out = append(out, u)
			}
		}
	}
	return out
}

// RecordSet returns an RRset of hosted zone zoneID as Route 53 stores it:
// TTL and values in presentation form (TXT values in quotes).
func (s *Server) RecordSet(zoneID, name, typ string) (ttl int64, values []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zone(zoneID)
	if z == nil {
		return 0, nil, false
	}
	set := z.sets[setKey{canonical(name), strings.ToUpper(typ)}]
	if set == nil {
		return 0, nil, false
	}
	return set.ttl, slices.Clone(set.values), true
}

// FailNext makes the next call of operation op (e.g.
// "ChangeResourceRecordSets"; "" for any) fail with the Route 53 error
// code, such as "Throttling", "PriorRequestNotComplete" or "AccessDenied",
// without doing anything. Calls queue up.
func (s *Server) FailNext(op, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{op: op, code: code, message: defaultMessages[code]})
}

// Calls returns how many requests for operation op arrived, failed ones
// included, so tests can check that a no-op writes nothing.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// SyncChanges marks every PENDING change INSYNC, standing in for Route 53
// finishing propagation to its name servers.
func (s *Server) SyncChanges() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.changes {
		c.status = "INSYNC"
	}
}

var defaultMessages = map[string]string{
	"Throttling":              "Rate exceeded",
	"PriorRequestNotComplete": "The request was rejected because Route 53 was still processing a prior request.",
	"AccessDenied":            "User is not authorized to perform this action",
	"ServiceUnavailable":      "Service Unavailable",
}

var statusForCode = map[string]int{
	"AccessDenied":               http.StatusForbidden,
	"MissingAuthenticationToken": http.StatusForbidden,
	"NoSuchHostedZone":           http.StatusNotFound,
	"NoSuchChange":               http.StatusNotFound,
	"ServiceUnavailable":         http.StatusServiceUnavailable,
	"InternalFailure":            http.StatusInternalServerError,
}

// apiError is an error Route 53 answers with.
type apiError struct {
	code     string
	message  string
	messages []string // InvalidChangeBatch only
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	op, arg := route(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	requestID := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
	w.Header().Set("x-amzn-RequestId", requestID)
	if op == "" {
		writeError(w, requestID, &apiError{code: "InvalidAction", message: "Unsupported request " + r.Method + " " + r.URL.Path})
		return
	}
	s.calls[op]++
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeError(w, requestID, &apiError{code: "MissingAuthenticationToken", message: "Missing Authentication Token"})
		return
	}
	for i, f := range s.failures {
		if f.op == "" || f.op == op {
			s.failures = slices.Delete(s.failures, i, i+1)
			writeError(w, requestID, &apiError{code: f.code, message: f.message})
			return
		}
	}
	var body any
	var err *apiError
	switch op {
	case "ListHostedZonesByName":
		body, err = s.listHostedZonesByName(r)
	case "ListResourceRecordSets":
		body, err = s.listResourceRecordSets(r, arg)
	case "ChangeResourceRecordSets":
		body, err = s.changeResourceRecordSets(r, arg)
	case "GetChange":
		body, err = s.getChange(arg)
	}
	if err != nil {
		writeError(w, requestID, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(body)
}

// route names the operation of a request and its path argument.
func route(r *http.Request) (op, arg string) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodGet && p == "/2013-04-01/hostedzonesbyname":
		return "ListHostedZonesByName", ""
	case strings.HasPrefix(p, "/2013-04-01/hostedzone/") && strings.HasSuffix(p, "/rrset"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/2013-04-01/hostedzone/"), "/rrset")
		switch r.Method {
		case http.MethodGet:
			return "ListResourceRecordSets", id
		case http.MethodPost:
			return "ChangeResourceRecordSets", id
		}
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/2013-04-01/change/"):
		return "GetChange", strings.TrimPrefix(p, "/2013-04-01/change/")
	}
	return "", ""
}

func writeError(w http.ResponseWriter, requestID string, e *apiError) {
	w.Header().Set("Content-Type", "text/xml")
	status := statusForCode[e.code]
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	if e.code == "InvalidChangeBatch" {
		_ = xml.NewEncoder(w).Encode(invalidChangeBatchXML{Messages: e.messages, RequestID: requestID})
		return
	}
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	_ = xml.NewEncoder(w).Encode(errorResponseXML{
		Error:     errorXML{Type: typ, Code: e.code, Message: e.message},
		RequestID: requestID,
	})
}

func (s *Server) zone(id string) *zone {
	id = strings.TrimPrefix(id, "/hostedzone/")
	for _, z := range s.zones {
		if z.id == id {
			return z
		}
	}
	return nil
}

func noSuchZone(id string) *apiError {
	return &apiError{code: "NoSuchHostedZone", message: "No hosted zone found with ID: " + id}
}

func (s *Server) listHostedZonesByName(r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	if q.Get("hostedzoneid") != "" && q.Get("dnsname") == "" {
		return nil, &apiError{code: "InvalidInput", message: "The specified hosted zone ID requires a DNS name"}
	}
	maxItems, err := maxItemsParam(q.Get("maxitems"), 100)
	if err != nil {
		return nil, err
	}
	zones := slices.Clone(s.zones)
	slices.SortStableFunc(zones, func(a, b *zone) int { return compareNames(a.name, b.name) })
	start := 0
	if dn := q.Get("dnsname"); dn != "" {
		start = len(zones)
		for i, z := range zones {
			if compareNames(z.name, canonical(dn)) >= 0 {
				start = i
				break
			}
		}
	}
	out := listHostedZonesByNameXML{DNSName: q.Get("dnsname"), MaxItems: maxItems}
	for i := start; i < len(zones); i++ {
		z := zones[i]
		if len(out.HostedZones) == maxItems {
			out.IsTruncated = true
			out.NextDNSName = z.name
			out.NextHostedZoneID = "/hostedzone/" + z.id
			break
		}
		out.HostedZones = append(out.HostedZones, hostedZoneXML{
			ID: "/hostedzone/" + z.id, Name: z.name, CallerReference: "edgecert-test-" + z.id,
			Config: zoneConfigXML{PrivateZone: z.private}, ResourceRecordSetCount: len(z.sets),
		})
	}
	return out, nil
}

func (s *Server) listResourceRecordSets(r *http.Request, zoneID string) (any, *apiError) {
	z := s.zone(zoneID)
	if z == nil {
		return nil, noSuchZone(zoneID)
	}
	q := r.URL.Query()
	if q.Get("type") != "" && q.Get("name") == "" {
		return nil, &apiError{code: "InvalidInput", message: "The input is not valid: a type requires a name"}
	}
	maxItems, err := maxItemsParam(q.Get("maxitems"), 300)
	if err != nil {
		return nil, err
	}
	sets := make([]*rrset, 0, len(z.sets))
	for _, set := range z.sets {
		sets = append(sets, set)
	}
	slices.SortFunc(sets, compareSets)
	startName, startType := canonical(q.Get("name")), strings.ToUpper(q.Get("type"))
	out := listResourceRecordSetsXML{MaxItems: maxItems}
	for _, set := range sets {
		if q.Get("name") != "" {
			c := compareNames(set.name, startName)
			if c < 0 || (c == 0 && startType != "" && set.typ < startType) {
				continue
			}
		}
		if len(out.ResourceRecordSets) == maxItems {
			out.IsTruncated = true
			out.NextRecordName = set.name
			out.NextRecordType = set.typ
			break
		}
		out.ResourceRecordSets = append(out.ResourceRecordSets, rrsetXML{
			Name: escapeName(set.name), Type: set.typ, TTL: ptr(set.ttl), Records: recordsXML(set.values),
		})
	}
	return out, nil
}

func (s *Server) changeResourceRecordSets(r *http.Request, zoneID string) (any, *apiError) {
	z := s.zone(zoneID)
	if z == nil {
		return nil, noSuchZone(zoneID)
	}
	var req changeRequestXML
	if err := xml.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, &apiError{code: "InvalidInput", message: "Could not parse the request body"}
	}
	if len(req.Changes) == 0 {
		return nil, &apiError{code: "InvalidInput", message: "The change batch has no changes"}
	}
	// Apply to a copy; the batch is all or nothing.
	sets := make(map[setKey]*rrset, len(z.sets))
	for k, v := range z.sets {
		sets[k] = v
	}
	var msgs []string
	for _, c := range req.Changes {
		set, err := validateSet(z, c.Set)
		if err != nil {
			return nil, err
		}
		if set == nil {
			continue
		}
		k := setKey{set.name, set.typ}
		if m := recordMessages(set); len(m) > 0 {
			msgs = append(msgs, m...)
			continue
		}
		label := fmt.Sprintf("resource record set [name='%s', type='%s']", escapeName(set.name), set.typ)
		switch c.Action {
		case "CREATE":
			if sets[k] != nil {
				msgs = append(msgs, "Tried to create "+label+" but it already exists")
				continue
			}
			sets[k] = set
		case "UPSERT":
			sets[k] = set
		case "DELETE":
			cur := sets[k]
			switch {
			case cur == nil:
				msgs = append(msgs, "Tried to delete "+label+" but it was not found")
			case cur.ttl != set.ttl || !sameValues(cur.values, set.values):
				msgs = append(msgs, "Tried to delete "+label+" but the values provided do not match the current values")
			default:
				delete(sets, k)
			}
		default:
			return nil, &apiError{code: "InvalidInput", message: fmt.Sprintf("Invalid XML ; unknown action %q", c.Action)}
		}
	}
	if len(msgs) > 0 {
		return nil, &apiError{code: "InvalidChangeBatch", message: strings.Join(msgs, "; "), messages: msgs}
	}
	z.sets = sets
	s.seq++
	c := &change{id: fmt.Sprintf("CEDGE%09d", s.seq), status: "PENDING", submitted: time.Now().UTC()}
	s.changes[c.id] = c
	return changeResourceRecordSetsXML{ChangeInfo: c.xml(req.Comment)}, nil
}

// validateSet checks one RRset of a change and returns it in canonical
// form. Errors here are InvalidInput, which Route 53 reports before it
// looks at the zone's contents.
func validateSet(z *zone, in rrsetXML) (*rrset, *apiError) {
	if in.Name == "" || in.Type == "" {
		return nil, &apiError{code: "InvalidInput", message: "Invalid request: a resource record set needs a Name and a Type"}
	}
	if in.TTL == nil || len(in.Records) == 0 {
		return nil, &apiError{code: "InvalidInput", message: "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]], but found none in Change with [Action=..., Name=" + in.Name + ", Type=" + in.Type + "]"}
	}
	name := canonical(in.Name)
	if name != z.name && !strings.HasSuffix(name, "."+z.name) {
		return nil, &apiError{code: "InvalidChangeBatch", message: "not permitted in zone",
			messages: []string{fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", escapeName(name), z.name)}}
	}
	return &rrset{name: name, typ: strings.ToUpper(in.Type), ttl: *in.TTL, values: in.values()}, nil
}

// recordMessages checks the records of a TXT RRset as Route 53 does.
func recordMessages(set *rrset) []string {
	if set.typ != "TXT" {
		return nil
	}
	var msgs []string
	seen := map[string]bool{}
	for _, v := range set.values {
		if _, err := unquote(v); err != nil {
			msgs = append(msgs, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with '%s''", v))
			continue
		}
		if seen[v] {
			msgs = append(msgs, fmt.Sprintf("Duplicate Resource Record: '%s'", v))
		}
		seen[v] = true
	}
	return msgs
}

func (s *Server) getChange(id string) (any, *apiError) {
	c := s.changes[strings.TrimPrefix(id, "/change/")]
	if c == nil {
		return nil, &apiError{code: "NoSuchChange", message: "A change with the specified change ID does not exist: " + id}
	}
	return getChangeXML{ChangeInfo: c.xml("")}, nil
}

func (c *change) xml(comment string) changeInfoXML {
	return changeInfoXML{ID: "/change/" + c.id, Status: c.status, SubmittedAt: c.submitted.Format(time.RFC3339), Comment: comment}
}

func maxItemsParam(v string, def int) (int, *apiError) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, &apiError{code: "InvalidInput", message: "MaxItems must be a positive integer"}
	}
	return min(n, def), nil
}

// canonical is Route 53's form of a name: lower case, trailing dot, with
// its \052-style escapes resolved for comparison.
func canonical(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	name = strings.ReplaceAll(name, `\052`, "*")
	return strings.TrimSuffix(name, ".") + "."
}

// escapeName writes a name as Route 53 returns it: "*" as \052.
func escapeName(name string) string { return strings.ReplaceAll(name, "*", `\052`) }

// compareNames orders names as Route 53 lists them: by labels from the
// root down, so a zone's apex comes before its subdomains.
func compareNames(a, b string) int {
	return slices.Compare(reversedLabels(a), reversedLabels(b))
}

func reversedLabels(name string) []string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	slices.Reverse(labels)
	return labels
}

func compareSets(a, b *rrset) int {
	if c := compareNames(a.name, b.name); c != 0 {
		return c
	}
	return strings.Compare(a.typ, b.typ)
}

func sameValues(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// unquote reads a TXT value in Route 53's presentation form: one or more
// double-quoted strings with \" \\ and \DDD escapes.
func unquote(v string) (string, error) {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) || len(v) < 2 {
		return "", fmt.Errorf("not quoted")
	}
	var b strings.Builder
	in := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case !in && c == '"':
			in = true
		case !in && (c == ' ' || c == '\t'):
		case !in:
			return "", fmt.Errorf("text outside quotes")
		case c == '"':
			in = false
		case c == '\\' && i+3 < len(v) && isDigit(v[i+1]) && isDigit(v[i+2]) && isDigit(v[i+3]):
			n, _ := strconv.Atoi(v[i+1 : i+4])
			b.WriteByte(byte(n))
			i += 3
		case c == '\\' && i+1 < len(v):
			b.WriteByte(v[i+1])
			i++
		default:
			b.WriteByte(c)
		}
	}
	if in {
		return "", fmt.Errorf("unterminated quote")
	}
	return b.String(), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func ptr[T any](v T) *T { return &v }

// XML shapes of the Route 53 API, version 2013-04-01.

type changeRequestXML struct {
	XMLName xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	Comment string   `xml:"ChangeBatch>Comment"`
	Changes []struct {
		Action string   `xml:"Action"`
		Set    rrsetXML `xml:"ResourceRecordSet"`
	} `xml:"ChangeBatch>Changes>Change"`
}

type rrsetXML struct {
	Name          string      `xml:"Name"`
	Type          string      `xml:"Type"`
	SetIdentifier string      `xml:"SetIdentifier,omitempty"`
	TTL           *int64      `xml:"TTL,omitempty"`
	Records       []recordXML `xml:"ResourceRecords>ResourceRecord"`
}

type recordXML struct {
	Value string `xml:"Value"`
}

func (r rrsetXML) values() []string {
	var vs []string
	for _, rec := range r.Records {
		vs = append(vs, rec.Value)
	}
	return vs
}

func recordsXML(values []string) []recordXML {
	var rs []recordXML
	for _, v := range values {
		rs = append(rs, recordXML{Value: v})
	}
	return rs
}

type listResourceRecordSetsXML struct {
	XMLName            xml.Name   `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListResourceRecordSetsResponse"`
	ResourceRecordSets []rrsetXML `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated        bool       `xml:"IsTruncated"`
	NextRecordName     string     `xml:"NextRecordName,omitempty"`
	NextRecordType     string     `xml:"NextRecordType,omitempty"`
	MaxItems           int        `xml:"MaxItems"`
}

type listHostedZonesByNameXML struct {
	XMLName          xml.Name        `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListHostedZonesByNameResponse"`
	HostedZones      []hostedZoneXML `xml:"HostedZones>HostedZone"`
	DNSName          string          `xml:"DNSName,omitempty"`
	IsTruncated      bool            `xml:"IsTruncated"`
	NextDNSName      string          `xml:"NextDNSName,omitempty"`
	NextHostedZoneID string          `xml:"NextHostedZoneId,omitempty"`
	MaxItems         int             `xml:"MaxItems"`
}

type hostedZoneXML struct {
	ID                     string        `xml:"Id"`
	Name                   string        `xml:"Name"`
	CallerReference        string        `xml:"CallerReference"`
	Config                 zoneConfigXML `xml:"Config"`
	ResourceRecordSetCount int           `xml:"ResourceRecordSetCount"`
}

type zoneConfigXML struct {
	PrivateZone bool `xml:"PrivateZone"`
}

type changeInfoXML struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

type changeResourceRecordSetsXML struct {
	XMLName    xml.Name      `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ChangeResourceRecordSetsResponse"`
	ChangeInfo changeInfoXML `xml:"ChangeInfo"`
}

type getChangeXML struct {
	XMLName    xml.Name      `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetChangeResponse"`
	ChangeInfo changeInfoXML `xml:"ChangeInfo"`
}

type errorResponseXML struct {
	XMLName   xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ErrorResponse"`
	Error     errorXML `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

type errorXML struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type invalidChangeBatchXML struct {
	XMLName   xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ InvalidChangeBatch"`
	Messages  []string `xml:"Messages>Message"`
	RequestID string   `xml:"RequestId"`
}
