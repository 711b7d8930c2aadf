package bundle

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultKeyTemplate names entries "<secretName>.crt" and "<secretName>.key",
// what seed 000's Istio 1.0 gateways read from /etc/istio/ingressgateway-certs.
const DefaultKeyTemplate = "{name}"

// Suffixes appended to the rendered template for the chain and the key.
const (
	CertSuffix = ".crt"
	KeySuffix  = ".key"
)

// Template placeholders.
const (
	namePlaceholder      = "{name}"
	namespacePlaceholder = "{namespace}"
)

// ValidateKeyTemplate checks a key template: letters, digits, '-', '_', '.'
// and the placeholders {name} and {namespace}, with {name} present (else
// every source maps to the same entry). The CRD checks the same with CEL;
// this check keeps the controller safe from objects that predate it.
func ValidateKeyTemplate(tmpl string) error {
	if tmpl == "" {
		return nil
	}
	if !strings.Contains(tmpl, namePlaceholder) {
		return errors.New("keyTemplate must contain {name}")
	}
	for rest := tmpl; rest != ""; {
		switch {
		case strings.HasPrefix(rest, namespacePlaceholder):
			rest = rest[len(namespacePlaceholder):]
		case strings.HasPrefix(rest, namePlaceholder):
			rest = rest[len(namePlaceholder):]
		case isKeyChar(rest[0]):
			rest = rest[1:]
		default:
			return fmt.Errorf("keyTemplate %q: character %q is not allowed: use letters, digits, '-', '_', '.', {name} and {namespace}", tmpl, rest[0])
		}
	}
	return nil
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// EntryKeys returns the bundle entries of source ns/name under tmpl: the
// chain's and the private key's. Both are valid Secret data keys, or an
// error says why not.
func EntryKeys(tmpl, namespace, name string) (certKey, keyKey string, err error) {
	if tmpl == "" {
		tmpl = DefaultKeyTemplate
	}
	if err := ValidateKeyTemplate(tmpl); err != nil {
		return "", "", err
	}
	base := strings.NewReplacer(namespacePlaceholder, namespace, namePlaceholder, name).Replace(tmpl)
	certKey, keyKey = base+CertSuffix, base+KeySuffix
	for _, k := range []string{certKey, keyKey} {
		if errs := validation.IsConfigMapKey(k); len(errs) > 0 {
			return "", "", fmt.Errorf("entry %q for %s/%s is not a valid Secret key: %s", k, namespace, name, strings.Join(errs, "; "))
		}
	}
	return certKey, keyKey, nil
}
