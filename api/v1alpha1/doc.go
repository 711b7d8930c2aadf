// Package v1alpha1 holds the edgecert.dev/v1alpha1 API: the kinds that
// platform teams and tenants write (issuers, certificates, bundle merges,
// gateway server blocks) and the conditions edgecert reports on them.
//
// +kubebuilder:object:generate=true
// +groupName=edgecert.dev
package v1alpha1
