package testenv

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ProcessCPUSeconds is a process's user plus system time so far, from
// /proc: what a benchmark subtracts before and after a phase to say which
// process the time went to.
func ProcessCPUSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	// Linux reports clock ticks of 1/100 s (USER_HZ) on every platform Go supports here.
	return (utime + stime) / 100, nil
}

// CPUSeconds is the CPU time so far of each process of the bed that runs:
// kube-apiserver, etcd, Pebble and named, by those names.
func (b *Bed) CPUSeconds() (map[string]float64, error) {
	pids := map[string]int{}
	if b.Pebble != nil {
		pids["pebble"] = b.Pebble.Pid()
	}
	if b.BIND != nil {
		pids["named"] = b.BIND.Pid()
	}
	if b.ControlPlane != nil {
		// envtest starts kube-apiserver and etcd as children of this
		// process and does not say which; their executables do.
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
			if err != nil || !childOfThisProcess(pid) {
				continue
			}
			switch base := filepath.Base(exe); {
			case strings.HasPrefix(base, "kube-apiserver-"):
				pids["kube-apiserver"] = pid
			case strings.HasPrefix(base, "etcd-"):
				pids["etcd"] = pid
			}
		}
	}
	out := map[string]float64{}
	for name, pid := range pids {
		s, err := ProcessCPUSeconds(pid)
		if err != nil {
			return nil, err
		}
		out[name] = s
	}
	return out, nil
}

// childOfThisProcess reports whether pid's parent is this process.
func childOfThisProcess(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	return len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid())
}

// CPUSnapshot is the CPU time so far of the bed's processes, of this one
// ("test": a benchmark's own client, a floor client, the Pebble gate) and
// of ctrl when it is not nil ("controller"), or fails tb.
func (b *Bed) CPUSnapshot(tb testing.TB, ctrl *Controller) map[string]float64 {
	tb.Helper()
	cpu, err := b.CPUSeconds()
	if err != nil {
		tb.Fatal(err)
	}
	if cpu["test"], err = ProcessCPUSeconds(os.Getpid()); err != nil {
		tb.Fatal(err)
	}
	if ctrl != nil {
		if cpu["controller"], err = ctrl.CPUSeconds(); err != nil {
			tb.Fatal(err)
		}
	}
	return cpu
}

// CPUSince is the CPU time each process used since before (CPUSnapshot
// with the same ctrl).
func (b *Bed) CPUSince(tb testing.TB, ctrl *Controller, before map[string]float64) map[string]float64 {
	tb.Helper()
	after := b.CPUSnapshot(tb, ctrl)
	for k := range after {
		after[k] -= before[k]
	}
	return after
}

// CPULine prints CPU seconds per process, the largest first, after their
// total: "3.10 s kube-apiserver=1.90 etcd=0.70 ...".
func CPULine(cpu map[string]float64) string {
	names := slices.SortedFunc(maps.Keys(cpu), func(a, b string) int { return cmp.Compare(cpu[b], cpu[a]) })
	total := 0.0
	var parts []string
	for _, n := range names {
		total += cpu[n]
		parts = append(parts, fmt.Sprintf("%s=%.2f", n, cpu[n]))
	}
	return fmt.Sprintf("%.2f s %s", total, strings.Join(parts, " "))
}
