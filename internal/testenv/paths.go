package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// RepoRoot is the root of the edgecert source tree, found from this file's
// location so that tests in any package and the demo agree on it.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// toolVersions reads hack/tools/versions.env, the one place tool versions live.
var toolVersions = sync.OnceValues(func() (map[string]string, error) {
	path := filepath.Join(RepoRoot(), "hack", "tools", "versions.env")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tool versions: %w", err)
	}
	versions := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: malformed line %q", path, line)
		}
		versions[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return versions, sc.Err()
})

// toolPath returns bin/<tool>-<version> for a tool `make tools` builds, and a
// clear error telling what to run when it is not there.
func toolPath(tool, versionKey string) (string, error) {
	version, err := ToolVersion(versionKey)
	if err != nil {
		return "", err
	}
	path := filepath.Join(RepoRoot(), "bin", tool+"-"+version)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s %s is not built (%s missing): run `make tools`", tool, version, path)
	}
	return path, nil
}

// moduleDir returns where the Go module cache holds a dependency of edgecert,
// so that CRDs shipped inside istio.io/api and sigs.k8s.io/gateway-api are
// loaded at exactly the versions go.mod pins.
func moduleDir(module string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("locate module %s: %w: %s", module, err, stderr)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("module %s is not downloaded: run `go mod download`", module)
	}
	return dir, nil
}

// ToolVersion returns a version from hack/tools/versions.env, e.g.
// ToolVersion("KUBERNETES_VERSION").
func ToolVersion(key string) (string, error) {
	versions, err := toolVersions()
	if err != nil {
		return "", err
	}
	v, ok := versions[key]
	if !ok {
		return "", fmt.Errorf("hack/tools/versions.env has no %s", key)
	}
	return v, nil
}

// Promtool is bin/promtool-<PROMTOOL_VERSION>, which checks and unit-tests
// the alert rules in config/monitoring.
func Promtool() (string, error) {
	return toolPath("promtool", "PROMTOOL_VERSION")
}
