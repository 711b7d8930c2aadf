package testenv

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Main is the TestMain of a package whose tests need the test bed but run
// no manager in the test process (those use managertest.Main, built on
// MainWith): it starts the bed with o, stores it in *bed, runs the tests,
// stops the bed and exits with the tests' code, or 1 when the bed does not
// start. A package's TestMain is one line:
//
//	func TestMain(m *testing.M) { testenv.Main(m, testenv.Options{}, &bed) }
//
// When the binary runs benchmarks only (BenchmarksOnly), it starts nothing
// and *bed stays nil: benchmarks start their own beds and controller
// processes, so that what they measure is theirs.
func Main(m *testing.M, o Options, bed **Bed) {
	MainWith(m, bed, func() (*Bed, func() error, error) {
		b, err := Start(o)
		if err != nil {
			return nil, nil, err
		}
		return b, func() error { b.Stop(); return nil }, nil
	})
}

// MainWith is Main with the caller's start function, which returns the bed
// and how to stop everything it started (managertest adds the manager).
func MainWith(m *testing.M, bed **Bed, start func() (*Bed, func() error, error)) {
	SetLogger()
	if BenchmarksOnly() {
		os.Exit(m.Run())
	}
	b, stop, err := start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start test bed:", err)
		os.Exit(1)
	}
	*bed = b
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop test bed:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// BenchmarksOnly reports whether the test binary runs no test, only
// benchmarks: `go test -run='^$' -bench=...`, as `make bench` does. Call
// it from TestMain (it parses the flags when the testing package has not
// yet).
func BenchmarksOnly() bool {
	if !flag.Parsed() {
		flag.Parse()
	}
	run := flag.Lookup("test.run")
	return run != nil && run.Value.String() == "^$"
}

// SetLogger sends controller-runtime's logs to stderr when EDGECERT_TEST_LOG
// is set and discards them otherwise, so that test output stays readable.
func SetLogger() {
	if os.Getenv("EDGECERT_TEST_LOG") != "" {
		logf.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
		return
	}
	logf.SetLogger(logr.Discard())
}
