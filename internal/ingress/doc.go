// Package ingress turns annotated ingress objects (Istio Gateways, Gateway
// API Gateways, Kubernetes Ingresses) into the Certificates edgecert
// should hold for them. It is pure: no API server, no controller-runtime.
// Istio Gateways come in as internal/gateway's model (gateway.ParseGateway),
// the one every part of edgecert reads them with.
// The reconcilers in internal/controller/shim read the objects, call these
// functions and apply the result.
package ingress
