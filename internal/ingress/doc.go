// Package shim turns annotated ingress objects (Istio Gateways, Gateway
// API Gateways, Kubernetes Ingresses) into the Certificates edgecert
// should hold for them. It is pure: no API server, no controller-runtime.
// The reconcilers in internal/controller/shim read the objects, call these
// functions and apply the result.
package ingress
