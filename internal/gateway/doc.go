// Package gateway holds every rule about GatewayService server blocks in a
// shared Istio Gateway, as pure functions: which Gateway a GatewayService
// goes to and whether its hosts are claimed (Route), how its server is
// rendered (Render, PortName), the checks istiod's validating webhook
// applies to servers (ValidateServer, ValidateGateway), the conflicts Istio
// does not catch between tenants (Check), and which servers edgecert owns
// and how it replaces only those (Owners, Replace).
//
// It has no Kubernetes client: internal/controller/gatewayservice reads,
// asks this package, and writes.
package gateway
