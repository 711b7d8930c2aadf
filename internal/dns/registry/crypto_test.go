package registry_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/edgecert/edgecert/internal/dns/registry"
)

// External-dns's own test vectors (endpoint/labels_test.go): this key
// encrypts the labels owner=foo-owner, resource=foo-resource to fooEnc,
// and owner=bar-owner (with more labels) to barEnc.
var (
	vectorKey = []byte(")K_Fy|?Z.64#UuHm`}[d!GC%WJM_fs{_")
	fooEnc    = `+lvP8q9KHJ6BS6O81i2Q6DLNdf2JSKy8j/gbZKviTZlGYj7q+yDoYMgkQ1hPn6urtGllM5bfFMcaaHto52otQtiOYrX8990J3kQqg4s47m3bH3Ejl8RSxSSuWJM3HJtPghQzYg0/LSOsdQ0=`
	barEnc    = "yi6vVATlgYN0enXBIupVK2atNUKtajofWMroWtvZjUanFZXlWvqjJPpjmMd91kv86bZj+syQEP0uR3TK6eFVV7oKFh/NxYyh238FjZ+25zlXW9TgbLoMalUNOkhKFdfXkLeeaqJjePB59t+kQBYX+ZEryK652asPs6M+xTIvtg07N7WWZ6SjJujm0RRISg=="
)

// fooNonce is the nonce fooEnc was sealed with (its first 12 bytes), so
// writing the same labels with it must give fooEnc byte for byte.
func fooNonce(t *testing.T) []byte {
	raw, err := base64.StdEncoding.DecodeString(fooEnc)
	if err != nil {
		t.Fatal(err)
	}
	return raw[:12]
}

func TestEncryptedOwnershipRecords(t *testing.T) {
	a := rec("www.example.com.", "A", 300, "192.0.2.1")
	want := func(name string, typ string) registry.Endpoint {
		return registry.Endpoint{Name: name, Type: typ, TTL: 300, Targets: []string{"192.0.2.1"}, Resource: "foo-resource"}
	}
	tests := map[string]struct {
		current []registry.Record
		want    registry.Result
	}{
		"written as external-dns writes it": {
			want: registry.Result{
				Changes: []registry.Change{create(rec("a-www.example.com.", "TXT", 300, fooEnc)), create(a)},
				Owned:   []registry.Record{a},
			},
		},
		"ours, encrypted: adopted": {
			current: []registry.Record{a, rec("a-www.example.com.", "TXT", 300, fooEnc)},
			want:    registry.Result{Owned: []registry.Record{a}},
		},
		"ours, encrypted and quoted: adopted": {
			current: []registry.Record{a, rec("a-www.example.com.", "TXT", 300, `"`+fooEnc+`"`)},
			want:    registry.Result{Owned: []registry.Record{a}},
		},
		"ours in plain text, while encryption is being turned on: adopted": {
			current: []registry.Record{a, rec("a-www.example.com.", "TXT", 300, "heritage=external-dns,external-dns/owner=foo-owner")},
			want:    registry.Result{Owned: []registry.Record{a}},
		},
		"another owner's, encrypted: read and left alone": {
			current: []registry.Record{a, rec("a-www.example.com.", "TXT", 300, barEnc)},
			want: registry.Result{Conflicts: []registry.Conflict{{Name: "www.example.com.", Type: "A", Resource: "foo-resource", Owner: "bar-owner",
				Reason: `the A record at www.example.com is owned by "bar-owner"`}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := registry.Plan(tc.current, []registry.Endpoint{want("www.example.com.", "A")}, registry.Options{
				OwnerID: "foo-owner", Policy: registry.Sync, AESKey: vectorKey, Rand: bytes.NewReader(fooNonce(t)),
			})
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAESKey(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 32)
	for name, tc := range map[string]struct {
		in      []byte
		want    []byte
		wantErr bool
	}{
		"32 bytes":       {in: raw, want: raw},
		"base64":         {in: []byte(base64.StdEncoding.EncodeToString(raw) + "\n"), want: raw},
		"too short":      {in: []byte("short"), wantErr: true},
		"base64 of 16":   {in: []byte(base64.StdEncoding.EncodeToString(raw[:16])), wantErr: true},
		"external-dns's": {in: vectorKey, want: vectorKey},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := registry.AESKey(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("AESKey error = %v, wantErr %v", err, tc.wantErr)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("AESKey = %x, want %x", got, tc.want)
			}
		})
	}
}
