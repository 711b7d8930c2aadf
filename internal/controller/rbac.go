// Package controller holds what every edgecert reconciler shares. Each kind's
// reconciler lives in its own sub-package; they are wired in cmd/edgecert.
package controller

// The manager itself needs these, whatever controllers run: leader election
// uses a Lease, and every reconciler records Events.
//
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
