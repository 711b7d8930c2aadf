package main

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/edgecert/edgecert/internal/version"
)

// What the linker stamps is what `edgecert version` prints, in each format
// (hack/image's test runs the stamped binary of the image).
func TestVersionPrintsTheStamps(t *testing.T) {
	saved := [3]string{version.Version, version.Commit, version.Date}
	t.Cleanup(func() { version.Version, version.Commit, version.Date = saved[0], saved[1], saved[2] })
	version.Version, version.Commit, version.Date = "v1.2.3", "abc123", "2026-11-30T12:00:00Z"
	platform := runtime.GOOS + "/" + runtime.GOARCH

	for name, tc := range map[string]struct {
		args    []string
		want    string
		wantErr string
	}{
		"one line": {want: "edgecert v1.2.3 (commit abc123, 2026-11-30T12:00:00Z, " + runtime.Version() + " " + platform + ")\n"},
		"json": {args: []string{"-o", "json"}, want: `{
  "version": "v1.2.3",
  "commit": "abc123",
  "date": "2026-11-30T12:00:00Z",
  "goVersion": "` + runtime.Version() + `",
  "platform": "` + platform + `"
}
`},
		"yaml":     {args: []string{"-o", "yaml"}, want: "commit: abc123\ndate: \"2026-11-30T12:00:00Z\"\ngoVersion: " + runtime.Version() + "\nplatform: " + platform + "\nversion: v1.2.3\n"},
		"unknown":  {args: []string{"-o", "table"}, wantErr: `-o "table": want json or yaml, or nothing for one line`},
		"argument": {args: []string{"extra"}, wantErr: `unknown command "extra" for "version"`},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := newVersionCommand()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&bytes.Buffer{})
			cmd.SetArgs(tc.args)
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}
