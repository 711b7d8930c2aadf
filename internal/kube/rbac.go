// Package kube holds what every edgecert reconciler shares about Kubernetes
// objects: the labels and field manager on what edgecert writes, how
// Secrets are read without caching the cluster's, Istio's kinds, terminal
// error messages. Each kind's reconciler lives in its own package under
// internal/controller; internal/manager wires them.
package kube

// The manager itself needs these, whatever controllers run: leader election
// uses a Lease, and every reconciler records Events.
//
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
