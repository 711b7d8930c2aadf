package pki

import (
	"crypto"
	"strings"
	"testing"
)

func TestSealKeyOpensOnlyForItsAccountKeyAndOrder(t *testing.T) {
	gen := func(spec KeySpec) crypto.Signer {
		k, err := GenerateKey(spec)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	orderKey := gen(KeySpec{Algorithm: RSA, Size: 2048})
	account, other := gen(KeySpec{}), gen(KeySpec{})
	sealed, err := SealKey(orderKey, account, "uid-1\nhttps://ca.test/order/1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, "v1:") {
		t.Errorf("sealed form %q does not start with its version", sealed[:8])
	}
	again, err := SealKey(orderKey, account, "uid-1\nhttps://ca.test/order/1")
	if err != nil {
		t.Fatal(err)
	}
	if again == sealed {
		t.Error("sealing twice gave the same text: the nonce is not fresh")
	}
	opened, err := OpenKey(sealed, account, "uid-1\nhttps://ca.test/order/1")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := PublicKeyID(orderKey.Public())
	if got, _ := PublicKeyID(opened.Public()); got != want {
		t.Errorf("opened key %s, want %s", got, want)
	}

	tampered := []byte(sealed)
	tampered[len(tampered)-2] ^= 1
	for name, tc := range map[string]struct {
		sealed  string
		owner   crypto.Signer
		context string
	}{
		"another account key": {sealed, other, "uid-1\nhttps://ca.test/order/1"},
		"another order":       {sealed, account, "uid-1\nhttps://ca.test/order/2"},
		"another Certificate": {sealed, account, "uid-2\nhttps://ca.test/order/1"},
		"changed text":        {string(tampered), account, "uid-1\nhttps://ca.test/order/1"},
		"unknown version":     {"v0:" + strings.TrimPrefix(sealed, "v1:"), account, "uid-1\nhttps://ca.test/order/1"},
	} {
		if _, err := OpenKey(tc.sealed, tc.owner, tc.context); err == nil {
			t.Errorf("%s: opened, want an error", name)
		}
	}
}
