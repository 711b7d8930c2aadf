package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a child program of the test bed (named, Pebble) whose output
// goes to a log file in its working directory, so a failure can show it.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startProcess runs bin with args in dir. The child dies with the test binary
// (Pdeathsig), so an aborted test run leaves no named or Pebble behind.
func startProcess(name, dir, bin string, args, env []string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady polls ready until it returns nil, the process exits, or timeout
// passes. Errors include the tail of the process log.
func (p *process) waitReady(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited before it was ready (%w):\n%s", p.name, p.err, p.logTail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %w\n%s", p.name, timeout, err, p.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM, then SIGKILL if the process has not ended in 5 s.
func (p *process) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Pid is the operating system's id of the process.
func (p *process) Pid() int { return p.cmd.Process.Pid }

func (p *process) logTail() string {
	data, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// FreePort returns a loopback port that is free for both TCP and UDP at the
// time of the call (DNS needs both on the same number), and that no other
// call has returned in the last portClaimTTL, in this test process or in
// another one running at the same time (go test runs packages in
// parallel): the kernel may offer a port again as soon as the probe closes
// it, before whoever asked for the first one has bound it (seen: Pebble
// given one port for its API and its management interface).
func FreePort() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			continue
		}
		_ = u.Close()
		if claimPort(port) {
			return port, nil
		}
	}
	return 0, errors.New("no free loopback port found")
}

// portClaimTTL is how long a port FreePort returned stays claimed: far
// longer than a process takes to start and bind it.
const portClaimTTL = 2 * time.Minute

// claimedPorts are the ports this process's FreePort returned.
var claimedPorts sync.Map

// claimPort claims port for this caller, unless this process already
// handed it out or another process claimed it less than portClaimTTL ago:
// a claim is a file per port in the temporary directory, created
// exclusively; an older one is stale and taken over.
func claimPort(port int) bool {
	if _, dup := claimedPorts.LoadOrStore(port, true); dup {
		return false
	}
	dir := filepath.Join(os.TempDir(), "edgecert-test-ports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return true
	}
	path := filepath.Join(dir, strconv.Itoa(port))
	for range 2 {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_ = f.Close()
			return true
		}
		if !errors.Is(err, os.ErrExist) {
			// The temporary directory keeps no claims: only this
			// process's own hold.
			return true
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) < portClaimTTL {
			return false
		}
		// Stale, or released meanwhile: taken over.
		_ = os.Remove(path)
	}
	return false
}
