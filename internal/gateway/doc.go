// Package gateway holds edgecert's model of an Istio networking.istio.io
// Gateway and every rule about what edgecert puts into one, as pure
// functions:
//
//   - the model and its one parser: Gateway, Server, Port and ServerTLS,
//     read from a Gateway's unstructured spec by ParseGateway (or one
//     spec.servers entry at a time by ParseServer), and written back, for
//     edgecert's own servers only, by Server.Entry. The Istio Gateway shim
//     (internal/ingress, internal/controller/shim), the GatewayService
//     controller and the HTTP-01 route all read Gateways through it;
//   - GatewayService server blocks in a shared Gateway: which Gateway a
//     GatewayService goes to and whether its hosts are claimed (Route),
//     how its server and names are rendered (Render, PortName,
//     CredentialName, CertificateName), the checks istiod's validating
//     webhook applies to servers and hosts (ValidateServer,
//     ValidateGateway, ValidateHost, ValidateServerHost), how server
//     hosts compare (DNSName, Overlap, Covers), the conflicts Istio does
//     not catch between tenants (Check), and which servers edgecert owns
//     and how it replaces only those, leaving every other entry as it was
//     written (Owners, Replace, RawPortName);
//   - the HTTP-01 challenge route through an Istio ingress gateway: the
//     Gateway and VirtualService that send ChallengePathPrefix to
//     edgecert's challenge listener (ChallengeRoute), and the Gateways
//     whose HTTPS redirects the CA will follow (HTTPSRedirects).
//     ChallengePathPrefix is also the path that listener serves.
//
// It has no Kubernetes client: the controllers read, ask this package, and
// write. The istiod checks are a mirror, for deciding and for status
// messages; the tests make Istio the judge of it (testenv.IstioValidate
// runs istioctl validate on the same cases, and every Istio object the
// controller tests see written).
package gateway
