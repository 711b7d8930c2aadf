// Package pki holds the certificate facts edgecert decides on: private keys
// and CSRs, parsing and checking PEM chains and key pairs, and when a
// certificate is due for renewal. It has no Kubernetes imports; the clock is
// always passed in.
package pki
