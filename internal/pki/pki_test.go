package pki

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgecert/edgecert/internal/testenv"
)

func TestKeySpecNormalize(t *testing.T) {
	tests := map[string]struct {
		in      KeySpec
		want    KeySpec
		wantErr bool
	}{
		"zero is ECDSA P-256": {in: KeySpec{}, want: KeySpec{ECDSA, 256}},
		"ECDSA 384":           {in: KeySpec{ECDSA, 384}, want: KeySpec{ECDSA, 384}},
		"RSA default 2048":    {in: KeySpec{Algorithm: RSA}, want: KeySpec{RSA, 2048}},
		"RSA 3072":            {in: KeySpec{RSA, 3072}, want: KeySpec{RSA, 3072}},
		"RSA 1024 refused":    {in: KeySpec{RSA, 1024}, wantErr: true},
		"ECDSA 521 refused":   {in: KeySpec{ECDSA, 521}, wantErr: true},
		"Ed25519 refused":     {in: KeySpec{Algorithm: "Ed25519"}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.in.Normalize()
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGenerateKeyMatchesSpec(t *testing.T) {
	for _, spec := range []KeySpec{{ECDSA, 256}, {ECDSA, 384}, {RSA, 2048}} {
		key, err := GenerateKey(spec)
		if err != nil {
			t.Fatal(err)
		}
		if !KeyMatchesSpec(key, spec) {
			t.Errorf("key generated for %v does not match it", spec)
		}
		if KeyMatchesSpec(key, KeySpec{RSA, 4096}) {
			t.Errorf("key generated for %v matches RSA 4096", spec)
		}
		data, err := EncodeKey(key)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseKey(data)
		if err != nil {
			t.Fatal(err)
		}
		if !KeyMatchesSpec(back, spec) {
			t.Errorf("parsed key does not match %v", spec)
		}
	}
}

func TestParseKeyPair(t *testing.T) {
	now := time.Now()
	certA, keyA := testenv.SelfSigned(now, now.Add(time.Hour), "a.example.test")
	_, keyB := testenv.SelfSigned(now, now.Add(time.Hour), "b.example.test")

	if kp, err := ParseKeyPair(certA, keyA); err != nil || kp.Leaf.DNSNames[0] != "a.example.test" {
		t.Fatalf("matching pair: %v, %v", kp, err)
	}
	if _, err := ParseKeyPair(certA, keyB); err == nil || err.Error() != "private key does not match the certificate" {
		t.Fatalf("mismatched pair: err = %v", err)
	}
	if _, err := ParseKeyPair([]byte("garbage"), keyA); err == nil {
		t.Fatal("garbage certificate accepted")
	}
	if _, err := ParseKeyPair(append(append([]byte{}, certA...), keyA...), keyA); err == nil {
		t.Fatal("chain with a key block accepted")
	}
	if _, err := ParseKeyPair(certA, nil); err == nil {
		t.Fatal("missing key accepted")
	}
}

func TestCovers(t *testing.T) {
	now := time.Now()
	certPEM, keyPEM := testenv.SelfSigned(now, now.Add(time.Hour), "example.test", "*.apps.example.test")
	kp, err := ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]bool{
		"example.test":          true,
		"EXAMPLE.test.":         true,
		"web.apps.example.test": true,
		"apps.example.test":     false,
		"a.b.apps.example.test": false,
		"www.example.test":      false,
	}
	for host, want := range tests {
		if got := Covers(kp.Leaf, host); got != want {
			t.Errorf("Covers(%q) = %v, want %v", host, got, want)
		}
	}
	if diff := cmp.Diff([]string{"www.example.test"}, Uncovered(kp.Leaf, []string{"example.test", "www.example.test"})); diff != "" {
		t.Errorf("Uncovered (-want +got):\n%s", diff)
	}
}

func TestRenewalTime(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := map[string]struct {
		lifetime, renewBefore time.Duration
		want                  time.Time
	}{
		"90 days: a third remains":          {lifetime: 90 * day, want: start.Add(60 * day)},
		"6 days: half remains":              {lifetime: 6 * day, want: start.Add(3 * day)},
		"renewBefore wins":                  {lifetime: 90 * day, renewBefore: 10 * day, want: start.Add(80 * day)},
		"renewBefore over lifetime ignored": {lifetime: 6 * day, renewBefore: 30 * day, want: start.Add(3 * day)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := RenewalTime(start, start.Add(tc.lifetime), tc.renewBefore); !got.Equal(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestARIRenewalTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start, end := now.Add(time.Hour), now.Add(3*time.Hour)
	if got := ARIRenewalTime(start, end, now, 0); !got.Equal(start) {
		t.Errorf("pick 0: got %v, want window start %v", got, start)
	}
	if got := ARIRenewalTime(start, end, now, 0.5); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("pick 0.5: got %v, want the middle", got)
	}
	if got := ARIRenewalTime(now.Add(-2*time.Hour), now.Add(-time.Hour), now, 0.5); !got.Equal(now) {
		t.Errorf("closed window: got %v, want now", got)
	}
	if got := ARIRenewalTime(now.Add(-time.Hour), now.Add(time.Hour), now, 0); !got.Equal(now) {
		t.Errorf("open window: got %v, want now", got)
	}
}

func FuzzParseKeyPair(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, cert, key []byte) {
		kp, err := ParseKeyPair(cert, key)
		if err == nil && (kp.Leaf == nil || kp.Key == nil) {
			t.Fatal("nil leaf or key without error")
		}
	})
}
