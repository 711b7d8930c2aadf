package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var stamp = Stamp{Version: "v9.8.7-test", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-11-30T12:34:56Z"}

// build compiles edgecert and builds its image with the test's stamp.
func build(t *testing.T) v1.Image {
	t.Helper()
	img, err := Build(Options{Module: "../..", Arch: runtime.GOARCH, Stamp: stamp})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// The same commit gives the same digest and the same archive bytes: two
// builds, each compiling edgecert into a fresh directory, and archived
// seconds apart. A different commit date gives another digest, so the comparison
// can fail.
func TestSameCommitSameDigest(t *testing.T) {
	a1, a2 := filepath.Join(t.TempDir(), "a.tar"), filepath.Join(t.TempDir(), "b.tar")
	first := build(t)
	if err := WriteArchive(first, a1, "registry.example.com/edgecert:v9.8.7-test"); err != nil {
		t.Fatal(err)
	}
	second := build(t)
	if err := WriteArchive(second, a2, "registry.example.com/edgecert:v9.8.7-test"); err != nil {
		t.Fatal(err)
	}
	d1, d2 := digest(t, first), digest(t, second)
	if d1 != d2 {
		t.Errorf("two builds of one commit: digests %s and %s", d1, d2)
	}
	b1, b2 := readFile(t, a1), readFile(t, a2)
	if !bytes.Equal(b1, b2) {
		t.Errorf("two archives of one image differ (%d and %d bytes)", len(b1), len(b2))
	}

	later := stamp
	later.Date = "2026-12-01T00:00:00Z"
	other, err := Assemble(binaryOf(t, first), runtime.GOARCH, later)
	if err != nil {
		t.Fatal(err)
	}
	if d := digest(t, other); d == d1 {
		t.Errorf("another commit date gives the same digest %s", d)
	}
}

// The image runs /edgecert as 65532 with nothing else in it: no shell, a
// static binary, root-owned files dated with the commit.
func TestImageIsOneStaticBinaryRunAsNonRoot(t *testing.T) {
	img := build(t)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	type config struct {
		OS, Arch, User, WorkingDir string
		Entrypoint, Cmd            []string
		Created                    string
		Labels                     map[string]string
	}
	got := config{cfg.OS, cfg.Architecture, cfg.Config.User, cfg.Config.WorkingDir, cfg.Config.Entrypoint, cfg.Config.Cmd, cfg.Created.UTC().Format(time.RFC3339), cfg.Config.Labels}
	want := config{
		OS: "linux", Arch: runtime.GOARCH, User: "65532:65532", WorkingDir: "/",
		Entrypoint: []string{"/edgecert"},
		Created:    "2026-11-30T12:34:56Z",
		Labels: map[string]string{
			"org.opencontainers.image.title":    "edgecert",
			"org.opencontainers.image.source":   "https://github.com/edgecert/edgecert",
			"org.opencontainers.image.version":  "v9.8.7-test",
			"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
			"org.opencontainers.image.created":  "2026-11-30T12:34:56Z",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("image config (-want +got):\n%s", diff)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	if mt != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type %s, want OCI's", mt)
	}

	type file struct {
		Name      string
		Mode      int64
		UID, GID  int
		Modified  string
		Directory bool
	}
	var files []file
	for _, h := range layerHeaders(t, img) {
		files = append(files, file{h.Name, h.Mode, h.Uid, h.Gid, h.ModTime.UTC().Format(time.RFC3339), h.Typeflag == tar.TypeDir})
	}
	const date = "2026-11-30T12:34:56Z"
	wantFiles := []file{
		{Name: "edgecert", Mode: 0o555, Modified: date},
		{Name: "etc/", Mode: 0o755, Modified: date, Directory: true},
		{Name: "etc/group", Mode: 0o644, Modified: date},
		{Name: "etc/passwd", Mode: 0o644, Modified: date},
	}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("files in the image (-want +got):\n%s", diff)
	}

	bin := filepath.Join(t.TempDir(), "edgecert")
	if err := os.WriteFile(bin, binaryOf(t, img), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("/edgecert has a program interpreter: it is not static (CGO_ENABLED=0)")
		}
	}
	_ = f.Close()

	// The binary from the image prints what the build stamped.
	out, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("edgecert version: %v", err)
	}
	var v struct{ Version, Commit, Date, Platform string }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("edgecert version -o json: %v: %s", err, out)
	}
	wantV := struct{ Version, Commit, Date, Platform string }{"v9.8.7-test", "0123456789abcdef0123456789abcdef01234567", "2026-11-30T12:34:56Z", "linux/" + runtime.GOARCH}
	if diff := cmp.Diff(wantV, v); diff != "" {
		t.Errorf("edgecert version (-want +got):\n%s", diff)
	}

	// The archive is an OCI image layout holding this image.
	archive := filepath.Join(t.TempDir(), "image.tar")
	if err := WriteArchive(img, archive, "registry.example.com/edgecert:v9.8.7-test"); err != nil {
		t.Fatal(err)
	}
	dir := untar(t, archive)
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("the archive is not an OCI image layout: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest.String() != digest(t, img) {
		t.Fatalf("the archive's index lists %v, want the image %s alone", im.Manifests, digest(t, img))
	}
	wantAnn := map[string]string{"io.containerd.image.name": "registry.example.com/edgecert:v9.8.7-test", "org.opencontainers.image.ref.name": "v9.8.7-test"}
	if diff := cmp.Diff(wantAnn, im.Manifests[0].Annotations); diff != "" {
		t.Errorf("the name docker load tags the image with (-want +got):\n%s", diff)
	}

	// Pushed to a registry (go-containerregistry's own, in memory), the
	// image keeps its digest.
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/edgecert/edgecert:v9.8.7-test"
	parsed, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(parsed, img); err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(parsed)
	if err != nil {
		t.Fatal(err)
	}
	if d := digest(t, pulled); d != digest(t, img) {
		t.Errorf("pulled digest %s, pushed %s", d, digest(t, img))
	}
}

func digest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func layerHeaders(t *testing.T, img v1.Image) []*tar.Header {
	t.Helper()
	var hs []*tar.Header
	eachFile(t, img, func(h *tar.Header, _ io.Reader) { hs = append(hs, h) })
	return hs
}

func binaryOf(t *testing.T, img v1.Image) []byte {
	t.Helper()
	var bin []byte
	eachFile(t, img, func(h *tar.Header, r io.Reader) {
		if h.Name == "edgecert" {
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			bin = b
		}
	})
	if bin == nil {
		t.Fatal("no edgecert in the image")
	}
	return bin
}

func eachFile(t *testing.T, img v1.Image, f func(*tar.Header, io.Reader)) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		f(h, tr)
	}
}

func untar(t *testing.T, archive string) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
