package gateway

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The fuzz tests below check the host matchers that decide claims and
// conflicts, and the owners bookkeeping, against properties written
// without the code under test. Their seeds run as ordinary tests; to
// search further: go test -run='^$' -fuzz=FuzzCovers -fuzztime=30s ./internal/gateway/
// (docs/development.md).

// tenantHost is ValidateHost's contract written as a pattern: an optional
// "*." and then at least two lower-case RFC 1123 labels.
var tenantHost = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

var hostSeeds = []string{
	"", "*", "*.", ".", "..", "com", "example.com", "shop.example.com", "*.example.com", "*.shop.example.com",
	"badexample.com", "xample.com", "a.b.example.com", "Example.COM", "example.com.", "*.*.example.com",
	"a*.example.com", "-a.example.com", "a-.example.com", "1.2.3.4", "::1", "example.123", "ns/shop.example.com",
	"*/shop.example.com", "./*.example.com", "NS/x.example.com", strings.Repeat("a", 63) + ".com", strings.Repeat("a", 64) + ".com",
	strings.Repeat("abcdefghi.", 25) + "com", "xn--bcher-kva.example", "a_b.example.com", "é.example.com",
}

// labelsEndWith reports whether the dot-separated labels of host end with
// those of domain.
func labelsEndWith(host, domain string) bool {
	h, d := strings.Split(host, "."), strings.Split(domain, ".")
	if len(d) > len(h) {
		return false
	}
	return reflect.DeepEqual(h[len(h)-len(d):], d)
}

func FuzzCovers(f *testing.F) {
	for _, d := range hostSeeds {
		for _, h := range []string{d, "a." + d, "a" + d, "*." + d, "x.y." + d} {
			f.Add(d, h, "z."+h)
		}
	}
	f.Fuzz(func(t *testing.T, domain, host, third string) {
		got := Covers(domain, host)
		// The domain "*" covers every host; any other domain covers
		// exactly the names whose labels end with its labels: never a
		// name that merely ends with the same letters ("badexample.com"
		// is not under "example.com"), and never the catch-all "*".
		if want := domain == "*" || labelsEndWith(host, domain); got != want {
			t.Fatalf("Covers(%q, %q) = %v, want %v (labels)", domain, host, got, want)
		}
		if !Covers(domain, domain) {
			t.Fatalf("Covers(%q, %q) = false: a domain covers itself", domain, domain)
		}
		if domain == "*" {
			return
		}
		if got && host != domain && host[len(host)-len(domain)-1] != '.' {
			t.Fatalf("Covers(%q, %q): the covered name does not continue with a dot before the domain", domain, host)
		}
		if got && Covers(host, third) && !Covers(domain, third) {
			t.Fatalf("Covers(%q, %q) and Covers(%q, %q) but not Covers(%q, %q): not transitive", domain, host, host, third, domain, third)
		}
		// A claim on a valid name covers only valid names that are at
		// least as long; the wildcard of a claimed domain is covered.
		if ValidateHost(domain) == nil && !strings.HasPrefix(domain, "*.") {
			if got && len(host) < len(domain) {
				t.Fatalf("Covers(%q, %q): a shorter name is covered", domain, host)
			}
			if !Covers(domain, "*."+domain) {
				t.Fatalf("Covers(%q, %q) = false: the domain's wildcard is under it", domain, "*."+domain)
			}
		}
	})
}

// matches is how Istio matches a request host against a server host (as
// DNSName gives it): "*" matches all, "*.s" every name ending in ".s" at any
// depth, anything else itself.
func matches(pattern, host string) bool {
	if pattern == "*" || pattern == host {
		return true
	}
	suffix, ok := strings.CutPrefix(pattern, "*.")
	return ok && strings.HasSuffix(host, "."+suffix)
}

// witnesses are the request hosts that could match both a and b: if any
// host matches both, one of these does (a wildcard's narrowest name is a
// label in front of its suffix).
func witnesses(a, b string) []string {
	out := []string{a, b}
	for _, p := range []string{a, b} {
		if suffix, ok := strings.CutPrefix(p, "*."); ok {
			out = append(out, "w."+suffix)
		}
	}
	return out
}

func FuzzOverlap(f *testing.F) {
	for _, a := range hostSeeds {
		f.Add(DNSName(a), "x."+DNSName(a))
		f.Add(DNSName(a), "*."+DNSName(a))
		f.Add("*."+DNSName(a), "*.x."+DNSName(a))
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got := Overlap(a, b)
		if got != Overlap(b, a) {
			t.Fatalf("Overlap(%q, %q) = %v but Overlap(%q, %q) = %v: not symmetric", a, b, got, b, a, !got)
		}
		if !Overlap(a, a) || !Overlap(a, "*") {
			t.Fatalf("Overlap(%q, itself or \"*\") = false", a)
		}
		// For the names servers may hold (istiod's validation, as DNSName
		// gives them), two names overlap exactly when some request host
		// matches both.
		if ValidateServerHost(a) != nil || ValidateServerHost(b) != nil || DNSName(a) != a || DNSName(b) != b {
			return
		}
		want := false
		for _, w := range witnesses(a, b) {
			if matches(a, w) && matches(b, w) {
				want = true
			}
		}
		if got != want {
			t.Fatalf("Overlap(%q, %q) = %v, want %v (some host matches both)", a, b, got, want)
		}
	})
}

func FuzzValidateHostMatchesItsContract(f *testing.F) {
	for _, h := range hostSeeds {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, host string) {
		err := ValidateHost(host)
		name := strings.TrimPrefix(host, "*.")
		labels := strings.Split(name, ".")
		_, numericTLD := strconv.Atoi(labels[len(labels)-1])
		want := host == "*" || tenantHost.MatchString(host) && len(host) <= 253 && numericTLD != nil
		if (err == nil) != want {
			t.Fatalf("ValidateHost(%q) = %v, want valid=%v (\"*\", or a lower-case DNS name of at most 253 characters, at most one leading \"*.\", a TLD not all digits)", host, err, want)
		}
		if err != nil {
			return
		}
		// What a tenant may name, istiod takes in a server, bare or in
		// a namespace, and compares as written.
		if err := ValidateServerHost(host); err != nil {
			t.Fatalf("ValidateHost(%q) passed but ValidateServerHost refused it: %v", host, err)
		}
		if err := ValidateServerHost("team-a/" + host); err != nil {
			t.Fatalf("ValidateHost(%q) passed but ValidateServerHost refused team-a/%s: %v", host, host, err)
		}
		if DNSName(host) != host {
			t.Fatalf("DNSName(%q) = %q: a valid host is already in the form claims compare", host, DNSName(host))
		}
	})
}

// serverHostLabel is one label of a server's DNS name, any case.
var serverHostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

func FuzzValidateServerHost(f *testing.F) {
	for _, h := range hostSeeds {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if ValidateServerHost(host) != nil {
			return
		}
		ns, name, found := strings.Cut(host, "/")
		if found && ns != "*" && ns != "." && !regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`).MatchString(ns) {
			t.Fatalf("ValidateServerHost(%q) passed with namespace %q", host, ns)
		}
		if !found {
			name = host
		}
		if name == "*" || isIP(name) {
			return
		}
		if len(name) > maxHostLength {
			t.Fatalf("ValidateServerHost(%q) passed a name of %d characters", host, len(name))
		}
		labels := strings.Split(strings.TrimSuffix(name, "."), ".")
		if len(labels) < 2 {
			t.Fatalf("ValidateServerHost(%q) passed a short name", host)
		}
		for i, l := range labels {
			if !serverHostLabel.MatchString(l) && (i != 0 || l != "*") {
				t.Fatalf("ValidateServerHost(%q) passed label %q", host, l)
			}
		}
	})
}

// FuzzReplaceLeavesOthersServersAlone: whatever a Gateway's spec.servers
// and owners annotation hold, a GatewayService's server put in (as the
// controller does: only when Check finds no conflict) and taken out again
// never changes, moves or drops a server edgecert does not own.
func FuzzReplaceLeavesOthersServersAlone(f *testing.F) {
	f.Add(`[{"port":{"number":443,"name":"https","protocol":"HTTPS"},"hosts":["*/shop.example.com"],"tls":{"mode":"SIMPLE","credentialName":"shop"}},{"port":{"number":443,"name":"https-web-team-a","protocol":"HTTPS"},"hosts":["team-a/web.example.com"]}]`,
		`{"https-web-team-a":"team-a/web"}`, "team-a", "web", "web.example.com", uint16(443))
	f.Add(`[{"port":{"number":80,"name":"http-web-team-a","protocol":"HTTP"},"hosts":["*"]}]`, ``, "team-a", "web", "web.example.com", uint16(80))
	f.Add(`[{"port":{"number":443,"name":"https-web-team-a"}},{"port":{"number":443,"name":"https-web-team-a"}}]`, `{"https-web-team-a":"team-a/web"}`, "team-a", "web", "x.example.com", uint16(443))
	f.Add(`[{"port":{"name":"a"}},{"port":{"name":"b"}},"junk",null,{"port":"x"},{"port":{"name":"https-api-team-b"}}]`, `{"a":"team-b/api","https-api-team-b":"team-a/web","c":"team-a/web"}`, "team-a", "web", "api.example.com", uint16(8443))
	f.Add(`[{"port":{"number":443,"name":"https-web-team-a","protocol":"HTTPS"},"hosts":["team-a/web.example.com"]}]`, `{}`, "team-a", "web", "web.example.com", uint16(443))
	f.Fuzz(func(t *testing.T, serversJSON, annotation, namespace, name, host string, port uint16) {
		var servers []any
		if err := json.Unmarshal([]byte(serversJSON), &servers); err != nil {
			return
		}
		owners, err := ParseOwners(annotation)
		if err != nil {
			return
		}
		key := namespace + "/" + name
		before, _ := json.Marshal(servers)
		var hand []any
		for _, e := range servers {
			if _, ok := owners[RawPortName(e)]; !ok {
				hand = append(hand, e)
			}
		}
		handBefore, _ := json.Marshal(hand)

		desired := Server{
			Port:  Port{Number: uint32(port), Protocol: "HTTPS", Name: PortName("HTTPS", name, namespace)},
			Hosts: ServerHosts(namespace, []string{host}),
			TLS:   &ServerTLS{Mode: "SIMPLE", CredentialName: CredentialName(namespace, name)},
		}
		out, newOwners := servers, owners
		if checkLikeTheController(servers, owners, key, desired) {
			out, newOwners = Replace(servers, owners, key, desired.Entry())
		}
		if after, _ := json.Marshal(servers); string(after) != string(before) {
			t.Fatalf("Replace changed its input:\n%s\n%s", before, after)
		}
		notOwned := func(servers []any, owners Owners) []byte {
			var kept []any
			for _, e := range servers {
				if _, ok := owners[RawPortName(e)]; !ok {
					kept = append(kept, e)
				}
			}
			b, _ := json.Marshal(kept)
			return b
		}
		if got := notOwned(out, newOwners); string(got) != string(handBefore) {
			t.Fatalf("servers edgecert does not own changed when %s's server went in:\nbefore %s\nafter  %s", key, handBefore, got)
		}
		removed, ownersAfter := Replace(out, newOwners, key, nil)
		if got := notOwned(removed, ownersAfter); string(got) != string(handBefore) {
			t.Fatalf("servers edgecert does not own changed when %s's server came out:\nbefore %s\nafter  %s", key, handBefore, got)
		}
		for _, e := range removed {
			if ownersAfter[RawPortName(e)] == key {
				t.Fatalf("%s still owns %q after its server was removed", key, RawPortName(e))
			}
		}
	})
}

// checkLikeTheController decides, as the GatewayService controller does
// (planFor), whether desired may go in: hand-written servers are the
// entries owners does not list, the other GatewayServices' servers their
// entries in the Gateway.
func checkLikeTheController(servers []any, owners Owners, key string, desired Server) bool {
	var hand []Server
	currents := map[string]*Server{}
	for _, e := range servers {
		srv, _ := ParseServer(e)
		if k, ok := owners[RawPortName(e)]; ok {
			if currents[k] == nil {
				currents[k] = &srv
			}
			continue
		}
		hand = append(hand, srv)
	}
	var others []Contender
	for k, cur := range currents {
		if k != key {
			others = append(others, Contender{Key: k, Created: time.Unix(0, 0), Current: cur})
		}
	}
	me := Contender{Key: key, Created: time.Unix(1, 0), Desired: &desired, Current: currents[key]}
	return Check(me, hand, nil, others) == nil
}
