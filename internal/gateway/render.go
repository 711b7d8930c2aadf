package gateway

import (
	"strings"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/names"
)

// PortName is the port name of a GatewayService's server:
// "<protocol>-<name>-<namespace>", lower case (seed 002's convention), so
// a reader of the Gateway sees whose server it is.
func PortName(protocol, name, namespace string) string {
	return strings.ToLower(protocol + "-" + name + "-" + namespace)
}

// ServerHosts turns tenant hosts into server hosts, "<namespace>/<host>",
// so that only VirtualServices of that namespace bind to the server.
func ServerHosts(namespace string, hosts []string) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = namespace + "/" + h
	}
	return out
}

// Render builds the server of a GatewayService. credentialName is the
// Secret in the gateway workload namespace for secretRef and issuerRef
// sources; it is ignored otherwise.
func Render(namespace, name string, spec edgecertv1alpha1.GatewayServiceSpec, credentialName string) Server {
	s := Server{
		Port:  Port{Number: uint32(spec.Port), Protocol: spec.Protocol, Name: PortName(spec.Protocol, name, namespace)},
		Hosts: ServerHosts(namespace, spec.Hosts),
	}
	if spec.HTTPSRedirect {
		s.TLS = &ServerTLS{HTTPSRedirect: true}
	}
	if t := spec.TLS; t != nil {
		mode := t.Mode
		if mode == "" {
			mode = "SIMPLE"
		}
		s.TLS = &ServerTLS{Mode: mode, MinProtocolVersion: t.MinProtocolVersion, MaxProtocolVersion: t.MaxProtocolVersion}
		switch {
		case mode == "PASSTHROUGH":
		case t.SecretPath != nil:
			s.TLS.ServerCertificate = t.SecretPath.ServerCertificate
			s.TLS.PrivateKey = t.SecretPath.PrivateKey
			if mode == "MUTUAL" {
				s.TLS.CACertificates = t.SecretPath.CACertificates
			}
		default:
			s.TLS.CredentialName = credentialName
		}
	}
	return s
}

// CredentialName is the name of the copy, in the gateway workload
// namespace, of a GatewayService's TLS Secret: "<namespace>.<name>".
// Namespaces hold no dots, so two GatewayServices never share a name; a
// name too long for a Secret is shortened with a hash.
func CredentialName(namespace, name string) string {
	return names.Fit(namespace+"."+name, "", names.MaxObjectName)
}

// CertificateName is the Certificate edgecert makes for a GatewayService
// with issuerRef, in the GatewayService's namespace; its Secret has the
// same name.
func CertificateName(name string) string {
	return names.Fit(name, "-gateway-tls", names.MaxObjectName)
}
