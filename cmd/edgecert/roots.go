package main

// The image has no /etc/ssl: the binary carries Mozilla's roots (a
// fallback used only where the system has none), so that it can reach
// public ACME CAs and Route 53 from an empty base.
import _ "golang.org/x/crypto/x509roots/fallback"
