package testenv

// HelmPath is the pinned helm (bin/helm-<HELM_VERSION>, built by `make
// tools`), which test/install lints and renders charts/edgecert with.
func HelmPath() (string, error) { return toolPath("helm", "HELM_VERSION") }
