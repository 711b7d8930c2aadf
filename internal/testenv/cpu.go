package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
