// Package rollout holds the RBAC edgecert needs to roll workloads for a
// CertMerge (put the bundle checksum on their pod template), apart from
// the edgecert-controller ClusterRole: `make generate` writes it as the
// ClusterRole edgecert-rollout (config/rbac/rollout), which the platform
// binds with a RoleBinding in each namespace whose workloads edgecert may
// roll, and never cluster-wide. A compromised edgecert can then patch the
// Deployments, StatefulSets and DaemonSets of those namespaces only, not
// kube-system's (docs/security.md, RBAC).
package rollout

import "fmt"

// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;patch

// ClusterRoleName is the ClusterRole to bind in a namespace that opts in.
const ClusterRoleName = "edgecert-rollout"

// ForbiddenMessage says why edgecert could not roll a workload, and what
// the platform does about it: a stable message, for a condition and an
// event.
func ForbiddenMessage(workloads []string, namespace string) string {
	return fmt.Sprintf("edgecert may not roll %v: namespace %s has not opted in; create a RoleBinding in %s binding ClusterRole %s to edgecert's ServiceAccount (config/rbac/rollout/rolebinding.yaml)",
		workloads, namespace, namespace, ClusterRoleName)
}
