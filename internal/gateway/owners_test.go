package gateway

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func raw(name string, extra ...string) map[string]any {
	m := map[string]any{"port": map[string]any{"name": name, "number": int64(443), "protocol": "HTTPS"}, "hosts": []any{"*/x.example.com"}}
	for _, e := range extra {
		m[e] = "kept as is"
	}
	return m
}

func TestReplace(t *testing.T) {
	hand := raw("https", "someFutureField")
	mine := raw("https-x-a")
	theirs := raw("https-y-b")
	newMine := raw("https-x-a", "changed")
	renamed := raw("tls-x-a")
	owners := Owners{"https-x-a": "a/x", "https-y-b": "b/y", "gone-z-c": "c/z"}
	for name, tc := range map[string]struct {
		servers    []any
		desired    any
		want       []any
		wantOwners Owners
	}{
		"add at the end": {
			servers: []any{hand, theirs}, desired: mine,
			want: []any{hand, theirs, mine}, wantOwners: Owners{"https-x-a": "a/x", "https-y-b": "b/y"},
		},
		"replace in place": {
			servers: []any{mine, hand, theirs}, desired: newMine,
			want: []any{newMine, hand, theirs}, wantOwners: Owners{"https-x-a": "a/x", "https-y-b": "b/y"},
		},
		"rename in place": {
			servers: []any{hand, mine, theirs}, desired: renamed,
			want: []any{hand, renamed, theirs}, wantOwners: Owners{"tls-x-a": "a/x", "https-y-b": "b/y"},
		},
		"remove": {
			servers: []any{hand, mine, theirs}, desired: nil,
			want: []any{hand, theirs}, wantOwners: Owners{"https-y-b": "b/y"},
		},
		"remove when absent": {
			servers: []any{hand, theirs}, desired: nil,
			want: []any{hand, theirs}, wantOwners: Owners{"https-y-b": "b/y"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, gotOwners := Replace(tc.servers, owners, "a/x", tc.desired)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("servers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantOwners, gotOwners); diff != "" {
				t.Errorf("owners (-want +got):\n%s", diff)
			}
		})
	}
	if _, ok := owners["gone-z-c"]; !ok {
		t.Error("Replace changed its input owners")
	}
}

func TestOwned(t *testing.T) {
	hand, mine, theirs, mineToo := raw("https"), raw("https-x-a"), raw("https-y-b"), raw("tls-x-a")
	owners := Owners{"https-x-a": "a/x", "tls-x-a": "a/x", "https-y-b": "b/y", "gone-z-c": "c/z"}
	if diff := cmp.Diff([]any{mine, mineToo}, Owned([]any{hand, mine, theirs, mineToo}, owners, "a/x")); diff != "" {
		t.Errorf("a/x's entries (-want +got):\n%s", diff)
	}
	if got := Owned([]any{hand, theirs}, owners, "c/z"); got != nil {
		t.Errorf("an owner whose server is missing: %v, want none", got)
	}
	if got := Owned([]any{hand, mine}, owners, ""); got != nil {
		t.Errorf("the empty key owns %v, want nothing (hand-written servers have no owner)", got)
	}
}

func TestOwnersRoundTrip(t *testing.T) {
	o := Owners{"b": "ns/b", "a": "ns/a"}
	if got, want := o.String(), `{"a":"ns/a","b":"ns/b"}`; got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
	back, err := ParseOwners(o.String())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(o, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a"}, o.PortNamesOf("ns/a")); diff != "" {
		t.Errorf("PortNamesOf (-want +got):\n%s", diff)
	}
	if _, err := ParseOwners("{not json"); err == nil {
		t.Error("ParseOwners accepted broken JSON")
	}
	empty, err := ParseOwners("")
	if err != nil || len(empty) != 0 {
		t.Errorf("ParseOwners(\"\") = %v, %v", empty, err)
	}
}
