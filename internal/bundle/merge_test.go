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

func tlsSource(ns, name string, p pair) Source {
	return Source{Ref: Ref{ns, name}, Type: TLSSecretType, Data: map[string][]byte{TLSCertKey: p.cert, TLSPrivateKey: p.key}}
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
	opaque := tlsSource("istio-system", "opaque", dev)
	opaque.Type = "Opaque"
	// "cert-svc.dev" turned bad after being merged.
	devTurnedBad := tlsSource("istio-system", "cert-svc.dev", dev)
	devTurnedBad.Data[TLSPrivateKey] = []byte("truncated")

	inc := func(ns, name, certKey, keyKey string, notAfter time.Time, stale bool, hosts ...string) Included {
		return Included{Ref: Ref{ns, name}, CertKey: certKey, KeyKey: keyKey, Hosts: hosts, NotAfter: notAfter, Stale: stale}
	}

	tests := map[string]struct {
		in             Input
		wantData       map[string][]byte
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
			wantIncluded: []Included{
				inc("istio-system", "cert-svc.dev", "cert-svc.dev.crt", "cert-svc.dev.key", later, false, "svc.dev.domain.com"),
				inc("istio-system", "cert-svc.prod", "cert-svc.prod.crt", "cert-svc.prod.key", soon, false, "svc.prod.domain.com", "www.prod.domain.com"),
			},
			wantEarliest: soon,
		},
		"namespace-qualified template": {
			in:       Input{KeyTemplate: "{namespace}_{name}", Sources: []Source{tlsSource("team-a", "web", dev)}},
			wantData: map[string][]byte{"team-a_web.crt": dev.cert, "team-a_web.key": dev.key},
			wantIncluded: []Included{
				inc("team-a", "web", "team-a_web.crt", "team-a_web.key", later, false, "svc.dev.domain.com"),
			},
			wantEarliest: later,
		},
		"bad sources are left out and the rest stays": {
			in:       Input{Sources: []Source{mismatched, garbage, opaque, tlsSource("istio-system", "good", other)}},
			wantData: map[string][]byte{"good.crt": other.cert, "good.key": other.key},
			wantIncluded: []Included{
				inc("istio-system", "good", "good.crt", "good.key", later, false, "other.domain.com"),
			},
			wantExcluded: []Excluded{
				{Ref: Ref{"istio-system", "broken"}, Reason: ReasonKeyMismatch, Message: "istio-system/broken: private key does not match the certificate"},
				{Ref: Ref{"istio-system", "garbage"}, Reason: ReasonInvalidCertificate, Message: "istio-system/garbage: tls.crt: certificate data is not PEM"},
				{Ref: Ref{"istio-system", "opaque"}, Reason: ReasonNotTLS, Message: `istio-system/opaque: type is "Opaque", not kubernetes.io/tls`},
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
			},
			wantData: map[string][]byte{
				"cert-svc.dev.crt": oldDev.cert, "cert-svc.dev.key": oldDev.key,
				"cert-svc.prod.crt": prod.cert, "cert-svc.prod.key": prod.key,
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
				Sources: []Source{devTurnedBad},
				Current: map[string][]byte{"cert-svc.dev.crt": []byte("junk"), "cert-svc.dev.key": oldDev.key},
			},
			wantData: map[string][]byte{},
			wantExcluded: []Excluded{
				{Ref: Ref{"istio-system", "cert-svc.dev"}, Reason: ReasonInvalidCertificate, Message: "istio-system/cert-svc.dev: tls.key: no private key PEM block found"},
			},
		},
		"collision: the first in namespace/name order keeps the entry, whatever the input order": {
			in:       Input{Sources: []Source{tlsSource("zeta", "web", prod), tlsSource("alpha", "web", dev)}},
			wantData: map[string][]byte{"web.crt": dev.cert, "web.key": dev.key},
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
				Sources: []Source{tlsSource("ns", "a", dev), tlsSource("ns", "a", dev)},
				Missing: []Ref{{"ns", "gone"}},
				Refused: []Ref{{"zzz", AnyName}, {"other", "secret"}},
				Current: map[string][]byte{"gone.crt": other.cert, "gone.key": other.key},
			},
			wantData:     map[string][]byte{"a.crt": dev.cert, "a.key": dev.key},
			wantIncluded: []Included{inc("ns", "a", "a.crt", "a.key", later, false, "svc.dev.domain.com")},
			wantExcluded: []Excluded{
				{Ref: Ref{"ns", "gone"}, Reason: ReasonNotFound, Message: "Secret ns/gone does not exist"},
				{Ref: Ref{"other", "secret"}, Reason: ReasonNotPermitted, Message: "Secret other/secret: out of reach, no CertMergeGrant there permits this CertMerge; use a ClusterCertMerge or ask that namespace's owner for a grant"},
				{Ref: Ref{"zzz", AnyName}, Reason: ReasonNotPermitted, Message: "Secrets of namespace zzz: out of reach, no CertMergeGrant there permits this CertMerge; use a ClusterCertMerge or ask that namespace's owner for a grant"},
			},
			wantEarliest: later,
		},
		"no sources: an empty bundle": {
			in:       Input{},
			wantData: map[string][]byte{},
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
