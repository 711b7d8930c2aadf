package registry

import (
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
)

// nonceSize is AES-GCM's standard nonce size, which external-dns uses.
const nonceSize = 12

// AESKey reads an ownership record encryption key as external-dns's
// --txt-encrypt-aes-key takes it: 32 bytes as they are, or their base64.
func AESKey(v []byte) ([]byte, error) {
	if len(v) == 32 {
		return v, nil
	}
	k, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(v)))
	if err != nil || len(k) != 32 {
		return nil, errors.New("the AES key of ownership records must be 32 bytes long, as they are or base64 encoded")
	}
	return k, nil
}

// encrypt is external-dns's encrypted ownership value: the text gzipped
// (best compression), sealed with AES-GCM under key with nonce, the nonce
// in front, base64 encoded.
func encrypt(text string, key []byte, nonce []byte) (string, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, nonceSize)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	gz, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := gz.Write([]byte(text)); err != nil {
		return "", err
	}
	if err := gz.Flush(); err != nil {
		return "", err
	}
	if err := gz.Close(); err != nil {
		return "", err
	}
	sealed := gcm.Seal(bytes.Clone(nonce), nonce, b.Bytes(), nil)
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// decrypt reverses encrypt.
func decrypt(text string, key []byte) (string, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, nonceSize)
	if err != nil {
		return "", err
	}
	data, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return "", err
	}
	if len(data) <= nonceSize {
		return "", errors.New("encrypted value too short")
	}
	plain, err := gcm.Open(nil, data[:nonceSize], data[nonceSize:], nil)
	if err != nil {
		return "", err
	}
	gz, err := gzip.NewReader(bytes.NewReader(plain))
	if err != nil {
		return "", err
	}
	out, err := io.ReadAll(gz)
	if cerr := gz.Close(); err == nil {
		err = cerr
	}
	return string(out), err
}

// Labels reads an ownership record's value under these options: with an
// AES key, an encrypted value is decrypted first (a plain one is still
// read, as external-dns does while records are being migrated).
func (o Options) Labels(value string) (Labels, bool) {
	if len(o.AESKey) != 0 {
		if plain, err := decrypt(trimQuotes(value), o.AESKey); err == nil {
			return ParseLabels(plain)
		}
	}
	return ParseLabels(value)
}

// ownershipValue is the value written for labels: plain, or encrypted
// with a fresh nonce when an AES key is set.
func (o Options) ownershipValue(l Labels) string {
	text := l.Serialize()
	if len(o.AESKey) == 0 {
		return text
	}
	r := o.Rand
	if r == nil {
		r = rand.Reader
	}
	nonce := make([]byte, nonceSize)
	if _, err := io.ReadFull(r, nonce); err != nil {
		return text
	}
	enc, err := encrypt(text, o.AESKey, nonce)
	if err != nil {
		return text
	}
	return enc
}

func trimQuotes(s string) string {
	return string(bytes.Trim([]byte(s), `"`))
}
