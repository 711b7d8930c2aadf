package gateway

import (
	"errors"
	"fmt"
	"strings"
)

// Protocol families: servers of different families cannot share a port.
const (
	familyHTTP = "HTTP"
	familyTLS  = "TLS"
	familyTCP  = "TCP"
)

// family classifies a protocol the way istiod's protocol.Parse does
// (case-insensitively); "" means istiod does not know it.
func family(protocol string) string {
	switch strings.ToUpper(protocol) {
	case "HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY":
		return familyHTTP
	case "HTTPS", "TLS":
		return familyTLS
	case "TCP", "MONGO", "REDIS", "MYSQL":
		return familyTCP
	}
	return ""
}

// ValidateServer mirrors the checks istiod's validating webhook applies to
// one Gateway server (pkg/config/validation, validateServer and
// validateTLSOptions), for the fields edgecert renders: at least one host,
// each of valid syntax; a port with a known protocol, a number in
// 1..65535 and a name; TLS settings required for HTTPS and TLS; on plain
// HTTP ports only httpsRedirect; none on other ports; one credential
// source; SIMPLE and MUTUAL with files need a certificate and a key, and
// MUTUAL a CA. The error joins every problem found.
func ValidateServer(s Server) error {
	var errs []error
	if len(s.Hosts) == 0 {
		errs = append(errs, errors.New("server config must contain at least one host"))
	}
	for _, h := range s.Hosts {
		if err := ValidateServerHost(h); err != nil {
			errs = append(errs, err)
		}
	}
	portOK := true
	if family(s.Port.Protocol) == "" {
		errs = append(errs, fmt.Errorf("invalid protocol %q", s.Port.Protocol))
		portOK = false
	}
	if s.Port.Number < 1 || s.Port.Number > 65535 {
		errs = append(errs, fmt.Errorf("port number %d must be in the range 1..65535", s.Port.Number))
		portOK = false
	}
	if s.Port.Name == "" {
		errs = append(errs, errors.New("port name must be set"))
		portOK = false
	}
	errs = append(errs, validateTLS(s.TLS)...)
	if portOK {
		isTLS := family(s.Port.Protocol) == familyTLS
		switch {
		case isTLS && s.TLS == nil:
			errs = append(errs, errors.New("server must have TLS settings for HTTPS/TLS protocols"))
		case !isTLS && s.TLS != nil && family(s.Port.Protocol) == familyHTTP:
			if !passthrough(s.TLS) || s.TLS.CACertificates != "" || s.TLS.PrivateKey != "" || s.TLS.ServerCertificate != "" {
				errs = append(errs, errors.New("server cannot have TLS settings for plain text HTTP ports"))
			}
		case !isTLS && s.TLS != nil:
			errs = append(errs, errors.New("server cannot have TLS settings for non HTTPS/TLS ports"))
		}
	}
	return errors.Join(errs...)
}

// passthrough is istiod's IsPassThroughServer: an unset mode is
// PASSTHROUGH, the proto enum's zero value.
func passthrough(t *ServerTLS) bool {
	return t.Mode == "" || t.Mode == "PASSTHROUGH" || t.Mode == "AUTO_PASSTHROUGH"
}

func validateTLS(t *ServerTLS) []error {
	if t == nil {
		return nil
	}
	var errs []error
	sources := 0
	if t.ServerCertificate != "" && t.PrivateKey != "" {
		sources++
	}
	if t.CredentialName != "" {
		sources++
	}
	if len(t.CredentialNames) > 0 {
		sources++
	}
	if sources > 1 {
		errs = append(errs, errors.New("only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified"))
	}
	if (t.Mode == "SIMPLE" || t.Mode == "MUTUAL") && t.CredentialName == "" && len(t.CredentialNames) == 0 {
		prefix := "SIMPLE TLS"
		if t.Mode == "MUTUAL" {
			prefix = "MUTUAL TLS"
			if t.CACertificates == "" {
				errs = append(errs, fmt.Errorf("%s requires a client CA bundle", prefix))
			}
		}
		if t.ServerCertificate == "" {
			errs = append(errs, fmt.Errorf("%s requires a server certificate", prefix))
		}
		if t.PrivateKey == "" {
			errs = append(errs, fmt.Errorf("%s requires a private key", prefix))
		}
	}
	return errs
}

// ValidateGateway applies ValidateServer to every server and istiod's
// Gateway-wide rule: port names are unique.
func ValidateGateway(servers []Server) error {
	var errs []error
	if len(servers) == 0 {
		errs = append(errs, errors.New("gateway must have at least one server"))
	}
	seen := make(map[string]bool, len(servers))
	for _, s := range servers {
		if err := ValidateServer(s); err != nil {
			errs = append(errs, fmt.Errorf("server %q: %w", s.Port.Name, err))
		}
		if seen[s.Port.Name] {
			errs = append(errs, fmt.Errorf("port names in servers must be unique: duplicate name %s", s.Port.Name))
		}
		seen[s.Port.Name] = true
	}
	return errors.Join(errs...)
}
