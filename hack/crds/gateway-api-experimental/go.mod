// Pins the Gateway API release whose experimental-channel CRDs still name
// ListenerSet XListenerSet (gateway.networking.x-k8s.io/v1alpha1), for the
// tests of edgecert on such clusters (internal/testenv,
// ControlPlaneOptions.GatewayAPIExperimental): `go mod download -json
// sigs.k8s.io/gateway-api` here fetches it from the Go module proxy,
// checked against go.sum, and names its directory in the module cache.
// edgecert itself builds against the version its own go.mod pins.
module github.com/edgecert/edgecert/hack/crds/gateway-api-experimental

go 1.26.0

require sigs.k8s.io/gateway-api v1.4.1
