// Command image builds edgecert's container image without Docker: a static
// edgecert binary (CGO_ENABLED=0, -trimpath) in one layer on an empty base,
// run as the non-root user 65532, with no shell and /edgecert as the
// entrypoint. Every timestamp is the commit's date, so one commit gives one
// digest. It writes the image as an OCI image layout in a tar archive
// (`docker load`, `podman load`, `skopeo copy oci-archive:...` read it) and
// pushes it when given a reference.
//
//	go run ./hack/image -version v0.1.0 -commit $(git rev-parse HEAD) \
//	    -date $(git log -1 --format=%cI) -o bin/edgecert-image.tar [-push ghcr.io/org/edgecert:v0.1.0]
//
// `make image` runs it with the values `make build` stamps.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// User is the uid and gid the image runs as (distroless's "nonroot").
const User = 65532

// Entrypoint is where the binary sits in the image.
const Entrypoint = "/edgecert"

// versionPackage is where `edgecert version` reads its stamps from.
const versionPackage = "github.com/edgecert/edgecert/internal/version"

// Stamp is what the build says it is; Date, the commit's date (RFC 3339),
// is also every timestamp in the image.
type Stamp struct {
	Version, Commit, Date string
}

// Options say what to build and where it goes.
type Options struct {
	// Module is the root of edgecert's module (holding cmd/edgecert).
	Module string
	// Arch is the GOARCH of the binary and the image's platform (linux).
	Arch  string
	Stamp Stamp
}

func main() {
	var o Options
	var out, push, imageName string
	flag.StringVar(&o.Module, "module", ".", "Root of edgecert's Go module.")
	flag.StringVar(&o.Arch, "arch", runtime.GOARCH, "GOARCH of the image (the OS is linux).")
	flag.StringVar(&o.Stamp.Version, "version", "dev", "Version stamped into the binary and the image's labels.")
	flag.StringVar(&o.Stamp.Commit, "commit", "unknown", "Commit stamped into the binary and the image's labels.")
	flag.StringVar(&o.Stamp.Date, "date", "", "The commit's date, RFC 3339; every timestamp in the image (empty: 1970-01-01).")
	flag.StringVar(&out, "o", "edgecert-image.tar", "Where to write the image (an OCI image layout in a tar archive); empty: nowhere.")
	flag.StringVar(&imageName, "name", "", "Name the archive gives the image (e.g. ghcr.io/org/edgecert:v0.1.0), which `docker load` tags it with; empty: none.")
	flag.StringVar(&push, "push", "", "Image reference to push to (e.g. ghcr.io/org/edgecert:v0.1.0); credentials from the Docker config.")
	flag.Parse()
	if err := run(o, out, imageName, push); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(o Options, out, imageName, push string) error {
	img, err := Build(o)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if out != "" {
		if err := WriteArchive(img, out, imageName); err != nil {
			return err
		}
		fmt.Printf("wrote %s\n", out)
	}
	if push != "" {
		ref, err := name.ParseReference(push)
		if err != nil {
			return fmt.Errorf("-push %q: %w", push, err)
		}
		if err := remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("push %s: %w", ref, err)
		}
		fmt.Printf("pushed %s@%s\n", ref.Context(), digest)
	}
	fmt.Printf("digest %s\n", digest)
	return nil
}

// Build compiles edgecert and assembles its image.
func Build(o Options) (v1.Image, error) {
	dir, err := os.MkdirTemp("", "edgecert-image-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin := filepath.Join(dir, "edgecert")
	if err := compile(o, bin); err != nil {
		return nil, err
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	return Assemble(binary, o.Arch, o.Stamp)
}

// compile builds a static edgecert for linux/arch with the stamp.
func compile(o Options, out string) error {
	ldflags := strings.Join([]string{
		"-s", "-w",
		"-X", versionPackage + ".Version=" + o.Stamp.Version,
		"-X", versionPackage + ".Commit=" + o.Stamp.Commit,
		"-X", versionPackage + ".Date=" + o.Stamp.Date,
	}, " ")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, "./cmd/edgecert")
	cmd.Dir = o.Module
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.Arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/edgecert: %w", err)
	}
	return nil
}

// Assemble puts binary into an image for linux/arch: one layer holding
// /edgecert and the passwd and group entries of the non-root user, on an
// empty base, every timestamp the stamp's date.
func Assemble(binary []byte, arch string, s Stamp) (v1.Image, error) {
	created, err := s.created()
	if err != nil {
		return nil, err
	}
	layerTar, err := rootFS(binary, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: "hack/image: edgecert " + s.Version, Comment: "static edgecert binary"},
	})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	cfg.Created = v1.Time{Time: created}
	cfg.Config.Entrypoint = []string{Entrypoint}
	cfg.Config.User = fmt.Sprintf("%d:%d", User, User)
	cfg.Config.WorkingDir = "/"
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    "edgecert",
		"org.opencontainers.image.source":   "https://github.com/edgecert/edgecert",
		"org.opencontainers.image.version":  s.Version,
		"org.opencontainers.image.revision": s.Commit,
		"org.opencontainers.image.created":  created.Format(time.RFC3339),
	}
	return mutate.ConfigFile(img, cfg)
}

func (s Stamp) created() (time.Time, error) {
	if s.Date == "" || s.Date == "unknown" {
		return time.Unix(0, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s.Date)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: want RFC 3339 (git log -1 --format=%%cI): %w", s.Date, err)
	}
	return t.UTC(), nil
}

// rootFS is the layer's tar: the binary, owned by root and not writable by
// the user it runs as, and /etc/passwd and /etc/group naming that user.
func rootFS(binary []byte, mtime time.Time) ([]byte, error) {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", User, User)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", User)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	entries := []struct {
		name string
		mode int64
		body []byte
		dir  bool
	}{
		{name: "edgecert", mode: 0o555, body: binary},
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, body: []byte(group)},
		{name: "etc/passwd", mode: 0o644, body: []byte(passwd)},
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: mtime, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteArchive writes img as an OCI image layout packed in a tar archive
// at path, its entries sorted and dated like the image, so that the same
// image gives the same bytes. A name (registry/repository:tag) is recorded
// in the index as containerd and Docker read it when loading.
func WriteArchive(img v1.Image, path, imageName string) error {
	dir, err := os.MkdirTemp("", "edgecert-layout-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	var opts []layout.Option
	if imageName != "" {
		ref, err := name.ParseReference(imageName)
		if err != nil {
			return fmt.Errorf("-name %q: %w", imageName, err)
		}
		opts = append(opts, layout.WithAnnotations(map[string]string{
			"io.containerd.image.name":          ref.Name(),
			"org.opencontainers.image.ref.name": ref.Identifier(),
		}))
	}
	if err := lp.AppendImage(img, opts...); err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	var files []string
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			files = append(files, p)
		}
		return nil
	}); err != nil {
		return err
	}
	sort.Strings(files)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, p := range files {
		if err := addToArchive(tw, dir, p, cfg.Created.Time); err != nil {
			_ = f.Close()
			return err
		}
	}
	if err := errors.Join(tw.Close(), f.Close()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func addToArchive(tw *tar.Writer, root, p string, mtime time.Time) error {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return err
	}
	info, err := os.Stat(p)
	if err != nil {
		return err
	}
	h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Format: tar.FormatPAX}
	if info.IsDir() {
		h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
		return tw.WriteHeader(h)
	}
	h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, info.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	_, err = io.Copy(tw, f)
	return err
}
