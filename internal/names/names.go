// Package names makes the names edgecert gives to objects and label values
// from other names, within Kubernetes' length limits, the same way
// everywhere: a name too long keeps its start and gets a hash of the whole,
// so two long names that share a start still differ.
package names

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Kubernetes' length limits.
const (
	// MaxObjectName is the longest DNS subdomain: Secret, Certificate,
	// Gateway names.
	MaxObjectName = 253
	// MaxLabelValue is the longest label value.
	MaxLabelValue = 63
	// MaxDNSLabel is the longest DNS label (RFC 1123): Istio Gateway
	// names, which istiod's webhook requires to be one.
	MaxDNSLabel = 63
)

// hashLen is how many hex characters of the hash a shortened name keeps.
const hashLen = 16

// Fit returns base+suffix when it is at most limit characters long, else
// base cut short (without a trailing "-" or ".") + "-" + 16 hex characters
// of the SHA-256 of base+suffix + suffix. The result is at most limit long
// and keeps suffix, so names that end in a meaningful suffix ("-tls") keep
// it.
func Fit(base, suffix string, limit int) string {
	full := base + suffix
	if len(full) <= limit {
		return full
	}
	sum := sha256.Sum256([]byte(full))
	keep := limit - len(suffix) - 1 - hashLen
	return strings.TrimRight(base[:keep], "-.") + "-" + hex.EncodeToString(sum[:])[:hashLen] + suffix
}

// FitLabel is Fit for a name that must be one DNS label, such as an Istio
// Gateway's (istiod refuses dots there): base+suffix when it is a label
// of at most MaxDNSLabel characters; else the dots of base become "-" and
// a hash of base+suffix is added, so "a.b" and "a-b" still differ, and
// the result is cut to MaxDNSLabel as Fit does.
func FitLabel(base, suffix string) string {
	if !strings.Contains(base, ".") {
		return Fit(base, suffix, MaxDNSLabel)
	}
	sum := sha256.Sum256([]byte(base + suffix))
	return Fit(strings.ReplaceAll(base, ".", "-")+"-"+hex.EncodeToString(sum[:])[:hashLen], suffix, MaxDNSLabel)
}
