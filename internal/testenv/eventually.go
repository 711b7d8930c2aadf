package testenv

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// PollInterval is how often Eventually looks again.
const PollInterval = 50 * time.Millisecond

// DefaultBound is how long Eventually waits before it fails the test. It
// guards against a hung test on a loaded machine (two cores shared with
// other tests); it is not a performance assertion, so it is generous and
// the same everywhere.
const DefaultBound = 2 * time.Minute

// Eventually polls cond every PollInterval until it holds, and fails the
// test when DefaultBound passes first, with what and the last thing cond
// saw. It is the one way tests wait for convergence.
func Eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	EventuallyWithin(t, DefaultBound, what, cond)
}

// EventuallyWithin is Eventually with another bound, for benchmarks whose
// runs take longer than DefaultBound.
func EventuallyWithin(t testing.TB, bound time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(bound)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		time.Sleep(PollInterval)
	}
	t.Fatalf("%s: not reached within %s; last seen: %s", what, bound, last)
}

// ExpectEvent waits (Eventually) for an event of reason about obj whose
// note contains substr; else it fails the test, listing the notes of that
// reason it saw.
func (cp *ControlPlane) ExpectEvent(t testing.TB, obj client.Object, reason, substr string) {
	t.Helper()
	Eventually(t, "event "+reason+" about "+obj.GetNamespace()+"/"+obj.GetName()+" containing "+substr, func() (bool, string) {
		notes, err := cp.EventNotes(context.Background(), obj, reason)
		if err != nil {
			return false, err.Error()
		}
		return slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, substr) }), strings.Join(notes, " | ")
	})
}
