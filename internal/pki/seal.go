package pki

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealPrefix versions the sealed form, so that another scheme can follow.
const sealPrefix = "v1:"

// sealInfo separates this use of the account key from any other.
const sealInfo = "edgecert.dev order private key v1"

// SealKey encrypts key with AES-256-GCM under a key derived (HKDF-SHA256)
// from owner, the ACME account key of the order, and binds it to context
// (the Certificate and the order) as additional data, so that the sealed
// form opens only for that order and only for someone who holds the account
// key. The result is text, for a status field.
func SealKey(key, owner crypto.Signer, context string) (string, error) {
	aead, err := sealingAEAD(owner)
	if err != nil {
		return "", err
	}
	plain, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("seal key: %w", err)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := aead.Seal(nonce, nonce, plain, []byte(context))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// OpenKey reverses SealKey. It fails when owner or context differ from
// sealing time, or the text was changed.
func OpenKey(sealed string, owner crypto.Signer, context string) (crypto.Signer, error) {
	b64, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, errors.New("open key: unknown sealed form")
	}
	data, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("open key: %w", err)
	}
	aead, err := sealingAEAD(owner)
	if err != nil {
		return nil, err
	}
	if len(data) < aead.NonceSize() {
		return nil, errors.New("open key: too short")
	}
	plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(context))
	if err != nil {
		return nil, errors.New("open key: it was sealed for another account key or order, or changed")
	}
	key, err := x509.ParsePKCS8PrivateKey(plain)
	if err != nil {
		return nil, fmt.Errorf("open key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("open key: not a signing key")
	}
	return signer, nil
}

func sealingAEAD(owner crypto.Signer) (cipher.AEAD, error) {
	secret, err := x509.MarshalPKCS8PrivateKey(owner)
	if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	k, err := hkdf.Key(sha256.New, secret, nil, sealInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
