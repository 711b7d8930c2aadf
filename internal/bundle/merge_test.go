package bundle

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgecert/edgecert/internal/testenv"
)

var (
	soon  = time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	later = time.Date(2032, 1, 2, 3, 4, 5, 0, time.UTC)
)

type pair struct{ cert, key []byte }

func newPair(notAfter time.Time, hosts ...string) pair {
	c, k := testenv.SelfSigned(notAfter.Add(-90*24*time.Hour), notAfter, hosts...)
	return pair{c, k}
}

// tlsSource is a TLS Secret ns/name with UID "uid-<ns>-<name>".
func tlsSource(ns, name string, p pair) Source {
	return Source{Ref: Ref{ns, name}, UID: "uid-" + ns + "-" + name, Type: TLSSecretType, Data: map[string][]byte{TLSCertKey: p.cert, TLSPrivateKey: p.key}}
}

// origin is the Origin of tlsSource(ns, name, ...).
func origin(ns, name string) Origin {
	return Origin{Namespace: ns, Name: name, UID: "uid-" + ns + "-" + name}
}

func TestMerge(t *testing.T) {
	dev := newPair(later, "svc.dev.domain.com")
	prod := newPair(soon, "svc.prod.domain.com", "www.prod.domain.com")
	other := newPair(later, "other.domain.com")
	oldDev := newPair(soon, "svc.dev.domain.com")

	mismatched := tlsSource("istio-system", "broken", dev)
	mismatched.Data[TLSPrivateKey] = prod.key
	garbage := tlsSource("istio-system", "garbage", dev)
	garbage.Data[TLSCertKey] = []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
	// A Secret of another type comes without data: edgecert does not read it.
	opaque := Source{Ref: Ref{"istio-system", "opaque"}, UID: "uid-opaque", Type: "Opaque"}
	// "cert-svc.dev" turned bad after being merged.
	devTurnedBad := tlsSource("istio-system", "cert-svc.dev", dev)
	devTurnedBad.Data[TLSPrivateKey] = []byte("truncated")
	// team-b/web is bad; its entries, web.crt and web.key, came from
	// team-a/web, which is no longer permitted.
	teamBBad := tlsSource("team-b", "web", dev)
	teamBBad.Data[TLSPrivateKey] = []byte("truncated")
	// istio-system/cert-svc.dev deleted and made again, bad, under the
	// same name: another UID.
	devRemade := devTurnedBad
	devRemade.UID = "uid-remade"

	inc := func(ns, name, certKey, keyKey string, notAfter time.Time, stale bool, hosts ...string) Included {
		return Included{Ref: Ref{ns, name}, CertKey: certKey, KeyKey: keyKey, Hosts: hosts, NotAfter: notAfter, Stale: stale}
	}
	devBefore := map[string][]byte{"cert-svc.dev.crt": oldDev.cert, "cert-svc.dev.key": oldDev.key}
	devBeforeOrigin := map[string]Origin{"cert-svc.dev.crt": origin("istio-system", "cert-svc.dev")}

	tests := map[string]struct {
		in             Input
		wantData       map[string][]byte
		wantOrigins    map[string]Origin
		wantIncluded   []Included
		wantExcluded   []Excluded
		wantCollisions []Collision
		wantEarliest   time.Time
	}{
		"default names are <secretName>.crt and .key, sorted by namespace and name": {
			in: Input{Sources: []Source{
				tlsSource("istio-system", "cert-svc.prod", prod),
				tlsSource("istio-system", "cert-svc.dev", dev),
			}},
			wantData: map[string][]byte{
				"cert-svc.dev.crt": dev.cert, "cert-svc.dev.key": dev.key,
				"cert-svc.prod.crt": prod.cert, "cert-svc.prod.key": prod.key,
			},
			wantOrigins: map[string]Origin{
				"cert-svc.dev.crt":  {"istio-system", "cert-svc.dev", "uid-istio-system-cert-svc.dev"},
				"cert-svc.prod.crt": {"istio-system", "cert-svc.prod", "uid-istio-system-cert-svc.prod"},
			},
			wantIncluded: []Included{
				inc("istio-system", "cert-svc.dev", "cert-svc.dev.crt", "cert-svc.dev.key", later, false, "svc.dev.domain.com"),
				inc("istio-system", "cert-svc.prod", "cert-svc.prod.crt", "cert-svc.prod.key", soon, false, "svc.prod.domain.com", "www.prod.domain.com"),
			},
			wantEarliest: soon,
		},
		"namespace-qualified template": {
			in:          Input{KeyTemplate: "{namespace}_{name}", Sources: []Source{tlsSource("team-a", "web", dev)}},
			wantData:    map[string][]byte{"team-a_web.crt": dev.cert, "team-a_web.key": dev.key},
			wantOrigins: map[string]Origin{"team-a_web.crt": origin("team-a", "web")},
			wantIncluded: []Included{
				inc("team-a", "web", "team-a_web.crt", "team-a_web.key", later, false, "svc.dev.domain.com"),
			},
			wantEarliest: later,
		},
		"bad sources are left out and the rest stays": {
			in:          Input{Sources: []Source{mismatched, garbage, opaque, tlsSource("istio-system", "good", other)}},
			wantData:    map[string][]byte{"good.crt": other.cert, "good.key": other.key},
			wantOrigins: map[string]Origin{"good.crt": origin("istio-system", "good")},
			wantIncluded: []Included{
				inc("istio-system", "good", "good.crt", "good.key", later, false, "other.domain.com"),
			},
			wantExcluded: []Excluded{
				{Ref: Ref{"istio-system", "broken"}, Reason: ReasonKeyMismatch, Message: "istio-system/broken: private key does not match the certificate"},
				{Ref: Ref{"istio-system", "garbage"}, Reason: ReasonInvalidCertificate, Message: "istio-system/garbage: tls.crt: certificate data is not PEM"},
				{Ref: Ref{"istio-system", "opaque"}, Reason: ReasonNotTLS, Message: `istio-system/opaque: type is "Opaque", not kubernetes.io/tls; edgecert does not read its data`},
			},
			wantEarliest: later,
		},
		"a source that turns bad keeps its last good data": {
			in: Input{
				Sources: []Source{devTurnedBad, tlsSource("istio-system", "cert-svc.prod", prod)},
				Current: map[string][]byte{
					"cert-svc.dev.crt": oldDev.cert, "cert-svc.dev.key": oldDev.key,
					"cert-svc.prod.crt": []byte("stale, replaced"), "cert-svc.prod.key": []byte("stale, replaced"),
					"removed.crt": other.cert, "removed.key": other.key,
				},
				CurrentOrigins: map[string]Origin{
					"cert-svc.dev.crt":  origin("istio-system", "cert-svc.dev"),
					"cert-svc.prod.crt": origin("istio-system", "cert-svc.prod"),
					"removed.crt":       origin("istio-system", "removed"),
				},
			},
			wantData: map[string][]byte{
				"cert-svc.dev.crt": oldDev.cert, "cert-svc.dev.key": oldDev.key,
				"cert-svc.prod.crt": prod.cert, "cert-svc.prod.key": prod.key,
			},
			wantOrigins: map[string]Origin{
				"cert-svc.dev.crt":  origin("istio-system", "cert-svc.dev"),
				"cert-svc.prod.crt": origin("istio-system", "cert-svc.prod"),
			},
			wantIncluded: []Included{
				inc("istio-system", "cert-svc.dev", "cert-svc.dev.crt", "cert-svc.dev.key", soon, true, "svc.dev.domain.com"),
				inc("istio-system", "cert-svc.prod", "cert-svc.prod.crt", "cert-svc.prod.key", soon, false, "svc.prod.domain.com", "www.prod.domain.com"),
			},
			wantExcluded: []Excluded{
				{Ref: Ref{"istio-system", "cert-svc.dev"}, Reason: ReasonInvalidCertificate, Message: "istio-system/cert-svc.dev: tls.key: no private key PEM block found; the bundle keeps its last good data"},
			},
			wantEarliest: soon,
		},
		"a bad source with no last good data has no entries": {
			in: Input{
				Sources:        []Source{devTurnedBad},
				Current:        map[string][]byte{"cert-svc.dev.crt": []byte("junk"), "cert-svc.dev.key": oldDev.key},
				CurrentOrigins: devBeforeOrigin,
			},
			wantData:    map[string][]byte{},
			wantOrigins: map[string]Origin{},
			wantExcluded: []Excluded{
				{Ref: Ref{"istio-system", "cert-svc.dev"}, Reason: ReasonInvalidCertificate, Message: "istio-system/cert-svc.dev: tls.key: no private key PEM block found"},
			},
		},
		// Issue 12, item 8: team-a un-grants; team-b/web maps to the same
		// entries and is bad. team-a's key must leave the bundle.
		"a bad source does not keep entries another source left": {
			in: Input{
				Sources:        []Source{teamBBad},
				Refused:        []Ref{{"team-a", "web"}},
				Current:        map[string][]byte{"web.crt": other.cert, "web.key": other.key},
				CurrentOrigins: map[string]Origin{"web.crt": origin("team-a", "web")},
			},
			wantData:    map[string][]byte{},
			wantOrigins: map[string]Origin{},
			wantExcluded: []Excluded{
				{Ref: Ref{"team-a", "web"}, Reason: ReasonNotPermitted, Message: "Secret team-a/web: out of reach, no CertMergeGrant there permits this CertMerge; use a ClusterCertMerge or ask that namespace's owner for a grant"},
				{Ref: Ref{"team-b", "web"}, Reason: ReasonInvalidCertificate, Message: "team-b/web: tls.key: no private key PEM block found"},
			},
		},
		"a Secret made again under the same name does not inherit the old one's data": {
			in:          Input{Sources: []Source{devRemade}, Current: devBefore, CurrentOrigins: devBeforeOrigin},
			wantData:    map[string][]byte{},
			wantOrigins: map[string]Origin{},
			wantExcluded: []Excluded{
				{Ref: Ref{"istio-system", "cert-svc.dev"}, Reason: ReasonInvalidCertificate, Message: "istio-system/cert-svc.dev: tls.key: no private key PEM block found"},
			},
		},
		"a bundle without an origin record keeps no last good data": {
			in:          Input{Sources: []Source{devTurnedBad}, Current: devBefore},
			wantData:    map[string][]byte{},
			wantOrigins: map[string]Origin{},
			wantExcluded: []Excluded{
				{Ref: Ref{"istio-system", "cert-svc.dev"}, Reason: ReasonInvalidCertificate, Message: "istio-system/cert-svc.dev: tls.key: no private key PEM block found"},
			},
		},
		"a stale source that loses its entries to an earlier source is reported once": {
			in: Input{
				Sources:        []Source{tlsSource("alpha", "cert-svc.dev", prod), devTurnedBad},
				Current:        devBefore,
				CurrentOrigins: devBeforeOrigin,
			},
			wantData:    map[string][]byte{"cert-svc.dev.crt": prod.cert, "cert-svc.dev.key": prod.key},
			wantOrigins: map[string]Origin{"cert-svc.dev.crt": origin("alpha", "cert-svc.dev")},
			wantIncluded: []Included{
				inc("alpha", "cert-svc.dev", "cert-svc.dev.crt", "cert-svc.dev.key", soon, false, "svc.prod.domain.com", "www.prod.domain.com"),
			},
			wantExcluded: []Excluded{
				{Ref: Ref{"istio-system", "cert-svc.dev"}, Reason: ReasonInvalidCertificate, Message: "istio-system/cert-svc.dev: tls.key: no private key PEM block found"},
			},
			wantCollisions: []Collision{{Key: "cert-svc.dev.crt", Kept: Ref{"alpha", "cert-svc.dev"}, Dropped: Ref{"istio-system", "cert-svc.dev"}}},
			wantEarliest:   soon,
		},
		"collision: the first in namespace/name order keeps the entry, whatever the input order": {
			in:          Input{Sources: []Source{tlsSource("zeta", "web", prod), tlsSource("alpha", "web", dev)}},
			wantData:    map[string][]byte{"web.crt": dev.cert, "web.key": dev.key},
			wantOrigins: map[string]Origin{"web.crt": origin("alpha", "web")},
			wantIncluded: []Included{
				inc("alpha", "web", "web.crt", "web.key", later, false, "svc.dev.domain.com"),
			},
			wantExcluded: []Excluded{
				{Ref: Ref{"zeta", "web"}, Reason: ReasonKeyCollision, Message: `entry "web.crt" of zeta/web is already taken by alpha/web, which comes first in namespace/name order; use a keyTemplate with {namespace}`},
			},
			wantCollisions: []Collision{{Key: "web.crt", Kept: Ref{"alpha", "web"}, Dropped: Ref{"zeta", "web"}}},
			wantEarliest:   later,
		},
		"missing and refused sources are reported and have no entries": {
			in: Input{
				Sources:        []Source{tlsSource("ns", "a", dev), tlsSource("ns", "a", dev)},
				Missing:        []Ref{{"ns", "gone"}},
				Refused:        []Ref{{"zzz", AnyName}, {"other", "secret"}},
				Current:        map[string][]byte{"gone.crt": other.cert, "gone.key": other.key},
				CurrentOrigins: map[string]Origin{"gone.crt": origin("ns", "gone")},
			},
			wantData:     map[string][]byte{"a.crt": dev.cert, "a.key": dev.key},
			wantOrigins:  map[string]Origin{"a.crt": origin("ns", "a")},
			wantIncluded: []Included{inc("ns", "a", "a.crt", "a.key", later, false, "svc.dev.domain.com")},
			wantExcluded: []Excluded{
				{Ref: Ref{"ns", "gone"}, Reason: ReasonNotFound, Message: "Secret ns/gone does not exist"},
				{Ref: Ref{"other", "secret"}, Reason: ReasonNotPermitted, Message: "Secret other/secret: out of reach, no CertMergeGrant there permits this CertMerge; use a ClusterCertMerge or ask that namespace's owner for a grant"},
				{Ref: Ref{"zzz", AnyName}, Reason: ReasonNotPermitted, Message: "Secrets of namespace zzz: out of reach, no CertMergeGrant there permits this CertMerge; use a ClusterCertMerge or ask that namespace's owner for a grant"},
			},
			wantEarliest: later,
		},
		"no sources: an empty bundle": {
			in:          Input{},
			wantData:    map[string][]byte{},
			wantOrigins: map[string]Origin{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Merge(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantData, got.Data); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantOrigins, got.Origins); diff != "" {
				t.Errorf("origins (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantIncluded, got.Included); diff != "" {
				t.Errorf("included (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantExcluded, got.Excluded); diff != "" {
				t.Errorf("excluded (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCollisions, got.Collisions); diff != "" {
				t.Errorf("collisions (-want +got):\n%s", diff)
			}
			if !got.EarliestExpiry.Equal(tc.wantEarliest) {
				t.Errorf("earliest expiry = %v, want %v", got.EarliestExpiry, tc.wantEarliest)
			}
			if want := BundleChecksum(tc.wantData); got.Checksum != want {
				t.Errorf("checksum = %s, want %s", got.Checksum, want)
			}
		})
	}
}

func TestMergeRejectsInvalidTemplate(t *testing.T) {
	if _, err := Merge(Input{KeyTemplate: "{namespace}"}); err == nil {
		t.Fatal("Merge with a template lacking {name} succeeded, want an error")
	}
}

func TestBundleChecksum(t *testing.T) {
	tests := map[string]struct {
		a, b      map[string][]byte
		wantEqual bool
	}{
		"nil and empty":           {a: nil, b: map[string][]byte{}, wantEqual: true},
		"same entries":            {a: map[string][]byte{"a": []byte("1"), "b": []byte("2")}, b: map[string][]byte{"b": []byte("2"), "a": []byte("1")}, wantEqual: true},
		"value changed":           {a: map[string][]byte{"a": []byte("1")}, b: map[string][]byte{"a": []byte("2")}},
		"entry removed":           {a: map[string][]byte{"a": []byte("1"), "b": nil}, b: map[string][]byte{"a": []byte("1")}},
		"boundary between fields": {a: map[string][]byte{"ab": []byte("c")}, b: map[string][]byte{"a": []byte("bc")}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := BundleChecksum(tc.a) == BundleChecksum(tc.b); got != tc.wantEqual {
				t.Errorf("checksums equal = %v, want %v", got, tc.wantEqual)
			}
			if got := DataEqual(tc.a, tc.b); got != tc.wantEqual {
				t.Errorf("DataEqual = %v, want %v", got, tc.wantEqual)
			}
		})
	}
}
