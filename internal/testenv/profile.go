package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
)

// ProfileEnv names the directory benchmarks write CPU profiles into when
// it is set (make bench leaves it unset): of kube-apiserver and of the
// controller over the part they measure, for `go tool pprof`.
const ProfileEnv = "EDGECERT_BENCH_PROFILE"

// ControllerPprofArgs are the flags that let ProfileCPU read the
// controller's profile: none unless ProfileEnv is set.
func ControllerPprofArgs(tb testing.TB) []string {
	if os.Getenv(ProfileEnv) == "" {
		return nil
	}
	port, err := FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	return []string{"--pprof-bind-address", "127.0.0.1:" + strconv.Itoa(port)}
}

// ProfileCPU starts CPU profiles of kube-apiserver and, when pprofArgs
// (ControllerPprofArgs) are those the controller was started with, of the
// controller, both for d; the returned function waits for them and writes
// <name>-kube-apiserver.pprof and <name>-controller.pprof into
// ProfileEnv's directory. Without ProfileEnv it does nothing.
func (b *Bed) ProfileCPU(tb testing.TB, name string, d time.Duration, pprofArgs []string) (wait func()) {
	dir := os.Getenv(ProfileEnv)
	if dir == "" {
		return func() {}
	}
	var wg sync.WaitGroup
	seconds := strconv.Itoa(int(d.Seconds()))
	save := func(process string, data []byte, err error) {
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name+"-"+process+".pprof"), data, 0o644)
		}
		if err != nil {
			tb.Errorf("profile %s: %v", process, err)
		}
	}
	wg.Go(func() {
		cs, err := kubernetes.NewForConfig(b.ControlPlane.Config)
		if err != nil {
			save("kube-apiserver", nil, err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
		defer cancel()
		data, err := cs.RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", seconds).DoRaw(ctx)
		save("kube-apiserver", data, err)
	})
	if len(pprofArgs) == 2 {
		wg.Go(func() {
			resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%s", pprofArgs[1], seconds))
			if err != nil {
				save("controller", nil, err)
				return
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			save("controller", data, err)
		})
	}
	return wg.Wait
}
