package bundle

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cost is what a source costs against the budget, written out from the
// rule in DefaultBudget's comment and not from the code under test: its
// two entries, keys and values, and its line in the origin record,
// `"<certKey>":"<ns>/<name>/<uid>",`.
func cost(certKey, keyKey string, p pair, o Origin) int {
	line := len(`"`) + len(certKey) + len(`":"`) + len(o.Namespace+"/"+o.Name+"/"+o.UID) + len(`",`)
	return len(certKey) + len(p.cert) + len(keyKey) + len(p.key) + line
}

// padded is p with n filler certificates after the leaf, as a long chain
// would have: a source as large as a test needs.
func padded(p pair, n int) pair {
	filler := newPair(later, "filler.example")
	return pair{cert: append(bytes.Clone(p.cert), bytes.Repeat(filler.cert, n)...), key: p.key}
}

func TestMergeBudget(t *testing.T) {
	a := newPair(later, "a.example")
	b := newPair(later, "b.example")
	c := newPair(later, "c.example")
	big := padded(newPair(later, "big.example"), 5)
	renewedZ := newPair(later, "z.example")
	oldZ := newPair(soon, "z.example")

	costA := cost("a.crt", "a.key", a, origin("ns", "a"))
	costB := cost("b.crt", "b.key", b, origin("ns", "b"))
	costC := cost("c.crt", "c.key", c, origin("ns", "c"))
	costBig := cost("big.crt", "big.key", big, origin("ns", "big"))
	costZ := cost("z.crt", "z.key", renewedZ, origin("ns", "z"))
	tooLarge := func(name string, n int, budget int) Excluded {
		return Excluded{Ref: Ref{"ns", name}, Reason: ReasonBundleTooLarge,
			Message: "ns/" + name + ": left out: its " + strconv.Itoa(n) + " bytes would take the bundle past its budget of " + strconv.Itoa(budget) +
				" bytes (a Secret holds at most 1 MiB); sources already in the bundle keep their place, then new ones in namespace/name order"}
	}

	tests := map[string]struct {
		in           Input
		wantIncluded []string
		wantExcluded []Excluded
		wantBytes    int
	}{
		"everything fits": {
			in:           Input{Budget: Budget{Bytes: 2 + costA + costB + costC, OriginRecordBytes: 1 << 20}, Sources: []Source{tlsSource("ns", "c", c), tlsSource("ns", "a", a), tlsSource("ns", "b", b)}},
			wantIncluded: []string{"a", "b", "c"},
			wantBytes:    2 + costA + costB + costC,
		},
		"one byte short: the last new source in name order is left out": {
			in:           Input{Budget: Budget{Bytes: 2 + costA + costB + costC - 1, OriginRecordBytes: 1 << 20}, Sources: []Source{tlsSource("ns", "c", c), tlsSource("ns", "a", a), tlsSource("ns", "b", b)}},
			wantIncluded: []string{"a", "b"},
			wantExcluded: []Excluded{tooLarge("c", costC, 2+costA+costB+costC-1)},
			wantBytes:    2 + costA + costB,
		},
		"first fit: one oversized source does not keep smaller ones after it out": {
			in:           Input{Budget: Budget{Bytes: 2 + costA + costC, OriginRecordBytes: 1 << 20}, Sources: []Source{tlsSource("ns", "a", a), tlsSource("ns", "big", big), tlsSource("ns", "c", c)}},
			wantIncluded: []string{"a", "c"},
			wantExcluded: []Excluded{tooLarge("big", costBig, 2+costA+costC)},
			wantBytes:    2 + costA + costC,
		},
		// The bundle holds z; a and b are new. z keeps its place, and its
		// renewal (new data) reaches the bundle; a fits in what is left.
		"sources already in the bundle come first, and their renewals land": {
			in: Input{
				Budget:         Budget{Bytes: 2 + costZ + costA, OriginRecordBytes: 1 << 20},
				Sources:        []Source{tlsSource("ns", "a", a), tlsSource("ns", "b", b), tlsSource("ns", "z", renewedZ)},
				Current:        map[string][]byte{"z.crt": oldZ.cert, "z.key": oldZ.key},
				CurrentOrigins: map[string]Origin{"z.crt": origin("ns", "z")},
			},
			wantIncluded: []string{"a", "z"},
			wantExcluded: []Excluded{tooLarge("b", costB, 2+costZ+costA)},
			wantBytes:    2 + costZ + costA,
		},
		// An entry of the same name from another Secret (another UID) is no
		// claim to a place.
		"a Secret made again under an incumbent's name is new": {
			in: Input{
				Budget:         Budget{Bytes: 2 + costA, OriginRecordBytes: 1 << 20},
				Sources:        []Source{tlsSource("ns", "a", a), tlsSource("ns", "z", renewedZ)},
				Current:        map[string][]byte{"z.crt": oldZ.cert, "z.key": oldZ.key},
				CurrentOrigins: map[string]Origin{"z.crt": {Namespace: "ns", Name: "z", UID: "deleted-since"}},
			},
			wantIncluded: []string{"a"},
			wantExcluded: []Excluded{tooLarge("z", costZ, 2+costA)},
			wantBytes:    2 + costA,
		},
		"the origin record has a budget of its own": {
			// `{` + `"a.crt":"ns/a/uid-ns-a",` = 1 + 24; b's line does not fit.
			in:           Input{Budget: Budget{Bytes: 1 << 20, OriginRecordBytes: 2 + 24 + 10}, Sources: []Source{tlsSource("ns", "a", a), tlsSource("ns", "b", b)}},
			wantIncluded: []string{"a"},
			wantExcluded: []Excluded{tooLarge("b", costB, 1<<20)},
			wantBytes:    2 + costA,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Merge(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var included []string
			for _, in := range got.Included {
				included = append(included, in.Name)
				if in.Name == "z" && !bytes.Equal(got.Data["z.crt"], renewedZ.cert) {
					t.Errorf("z.crt is not z's renewed chain")
				}
			}
			if diff := cmp.Diff(tc.wantIncluded, included); diff != "" {
				t.Errorf("included (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantExcluded, got.Excluded); diff != "" {
				t.Errorf("excluded (-want +got):\n%s", diff)
			}
			if got.Bytes != tc.wantBytes {
				t.Errorf("bytes = %d, want %d", got.Bytes, tc.wantBytes)
			}
			// What the API server will see: every value, every key and the
			// record, within the budget.
			size := len(EncodeOrigins(got.Origins))
			for k, v := range got.Data {
				size += len(k) + len(v)
			}
			if size > got.Bytes {
				t.Errorf("the bundle takes %d bytes, more than the %d counted", size, got.Bytes)
			}
			var refs []Ref
			for _, ex := range tc.wantExcluded {
				refs = append(refs, ex.Ref)
			}
			if diff := cmp.Diff(refs, got.TooLarge()); diff != "" {
				t.Errorf("TooLarge (-want +got):\n%s", diff)
			}
		})
	}
}

// With the default budget, about 1 MiB of sources: the bundle stays under
// the API server's limit with 64 KiB to spare, and the sources that do not
// fit are the last in namespace/name order.
func TestDefaultBudgetKeepsTheBundleUnderTheSecretLimit(t *testing.T) {
	if DefaultBudget.Bytes != 983040 || DefaultBudget.OriginRecordBytes != 131072 {
		t.Fatalf("DefaultBudget = %+v, want 983040 (960 KiB) and 131072 (128 KiB)", DefaultBudget)
	}
	filler := newPair(later, "filler.example")
	// Each source: a leaf and enough filler to make its chain 200 KiB or a
	// little more; five of them are over 1 MiB, four fit in 960 KiB.
	n := 200<<10/len(filler.cert) + 1
	var sources []Source
	for _, name := range []string{"e", "d", "c", "b", "a"} {
		sources = append(sources, tlsSource("ns", name, padded(newPair(later, name+".example"), n)))
	}
	got, err := Merge(Input{Sources: sources})
	if err != nil {
		t.Fatal(err)
	}
	var included []string
	values := 0
	for _, in := range got.Included {
		included = append(included, in.Name)
	}
	for _, v := range got.Data {
		values += len(v)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "d"}, included); diff != "" {
		t.Errorf("included (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Ref{{"ns", "e"}}, got.TooLarge()); diff != "" {
		t.Errorf("too large (-want +got):\n%s", diff)
	}
	if values > MaxSecretBytes-64<<10 {
		t.Errorf("bundle values take %d bytes, want at most %d", values, MaxSecretBytes-64<<10)
	}
}

func TestOriginRecord(t *testing.T) {
	origins := map[string]Origin{
		"web.crt":        {"team-b", "web", "4b4c1a4e-0d2e-4c39-9f64-2f2c7a1d9e01"},
		"api.prod.x.crt": {"team-a", "api.prod.x", "0f2a6a7c-1111-4c39-9f64-2f2c7a1d9e02"},
	}
	want := `{"api.prod.x.crt":"team-a/api.prod.x/0f2a6a7c-1111-4c39-9f64-2f2c7a1d9e02","web.crt":"team-b/web/4b4c1a4e-0d2e-4c39-9f64-2f2c7a1d9e01"}`
	if got := EncodeOrigins(origins); got != want {
		t.Errorf("EncodeOrigins = %s, want %s", got, want)
	}
	if got := EncodeOrigins(nil); got != "{}" {
		t.Errorf("EncodeOrigins(nil) = %s, want {}", got)
	}
	back, err := ParseOrigins(want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(origins, back); diff != "" {
		t.Errorf("ParseOrigins (-want +got):\n%s", diff)
	}
	empty, err := ParseOrigins("")
	if err != nil || len(empty) != 0 {
		t.Errorf("ParseOrigins(\"\") = %v, %v, want an empty record", empty, err)
	}
	for _, bad := range []string{`not json`, `{"web.crt":"team-b/web"}`, `{"web.crt":"team-b//uid"}`, `{"web.crt":"a/b/c/d"}`, `{"web.crt":3}`} {
		if got, err := ParseOrigins(bad); err == nil {
			t.Errorf("ParseOrigins(%s) = %v, want an error", bad, got)
		}
	}
}
