// Package version holds what a build of edgecert is: the release, the
// commit and the commit's date. `make build` and `make image` stamp them
// with -ldflags -X; a plain `go build` leaves the defaults below.
package version

import (
	"fmt"
	"runtime"
)

// Stamped by the linker: -X github.com/edgecert/edgecert/internal/version.Version=v0.1.0
// (and .Commit, .Date). Date is the commit's date, not the build's, so that
// one commit always builds the same binary.
var (
	Version = "dev"
	Commit  = "unknown"
	Date    = "unknown"
)

// Info is a build's identity, as `edgecert version -o json` prints it.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns this binary's identity.
func Get() Info {
	return Info{
		Version:   Version,
		Commit:    Commit,
		Date:      Date,
		GoVersion: runtime.Version(),
		Platform:  fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
	}
}

// String is the one line `edgecert version` prints.
func (i Info) String() string {
	return fmt.Sprintf("edgecert %s (commit %s, %s, %s %s)", i.Version, i.Commit, i.Date, i.GoVersion, i.Platform)
}
