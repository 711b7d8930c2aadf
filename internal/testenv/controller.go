package testenv

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Controller is `edgecert controller` running as a process of its own
// against the test bed, so that benchmarks measure its CPU time and peak
// memory and nothing else's.
type Controller struct {
	// ProbeAddr serves /healthz and /readyz.
	ProbeAddr string
	// LogPath holds the controller's output.
	LogPath string

	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// edgecertBinary builds ./cmd/edgecert once per test binary.
var edgecertBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "edgecert-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "edgecert")
	build := exec.Command("go", "build", "-o", bin, "./cmd/edgecert")
	build.Dir = RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build edgecert: %w\n%s", err, out)
	}
	return bin, nil
})

// StartController runs `edgecert controller` against kubeconfig with
// metrics and the HTTP-01 listener off and probes on a free port; args
// come after those and override them. It waits until /readyz answers.
func StartController(kubeconfig string, args ...string) (*Controller, error) {
	bin, err := edgecertBinary()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	log, err := os.CreateTemp("", "edgecert-controller-*.log")
	if err != nil {
		return nil, err
	}
	c := &Controller{ProbeAddr: fmt.Sprintf("127.0.0.1:%d", port), LogPath: log.Name(), log: log, done: make(chan struct{})}
	c.cmd = exec.Command(bin, append([]string{"controller", "--kubeconfig", kubeconfig,
		"--metrics-bind-address", "0", "--http01-bind-address", "0", "--health-probe-bind-address", c.ProbeAddr}, args...)...)
	c.cmd.Stdout, c.cmd.Stderr = log, log
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + c.ProbeAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("edgecert controller exited; log: %s", c.LogPath)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.Stop()
			return nil, fmt.Errorf("edgecert controller not ready after 30s; log: %s", c.LogPath)
		}
	}
}

// Pid is the controller's process id.
func (c *Controller) Pid() int { return c.cmd.Process.Pid }

// PeakRSSMiB is the process's high-water resident set size (VmHWM).
func (c *Controller) PeakRSSMiB() (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.Pid()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", c.Pid())
}

// CPUSeconds is the process's user plus system time so far.
func (c *Controller) CPUSeconds() (float64, error) { return ProcessCPUSeconds(c.Pid()) }

// Kill ends the controller with SIGKILL and waits for it to exit: no
// graceful shutdown, no lease released, requests in flight cut off, as when
// a node dies or the OOM killer strikes. Stop may still be called after it.
func (c *Controller) Kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
	c.log.Close()
}

// Exited reports whether the controller process has ended, e.g. because it
// lost its leader lease and exited as controller-runtime does.
func (c *Controller) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// LogContains reports whether the controller's output so far contains
// substr, e.g. LeaseAcquired to tell which replica leads.
func (c *Controller) LogContains(substr string) (bool, error) {
	data, err := os.ReadFile(c.LogPath)
	if err != nil {
		return false, err
	}
	return bytes.Contains(data, []byte(substr)), nil
}

// LeaseAcquired is what a controller logs when it becomes the leader
// (client-go's leader election, v0.37: capital S).
const LeaseAcquired = "Successfully acquired lease"

// Stop ends the controller (SIGTERM, then SIGKILL after 10 s).
func (c *Controller) Stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	c.log.Close()
}

// RunEdgecert runs the edgecert binary (built once per test binary) with
// args, as a user would from a shell, and returns what it printed.
func RunEdgecert(args ...string) (stdout, stderr string, err error) {
	bin, err := edgecertBinary()
	if err != nil {
		return "", "", err
	}
	var out, errOut strings.Builder
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}
