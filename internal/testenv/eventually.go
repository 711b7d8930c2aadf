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

// Eventually polls cond every PollInterval until it holds, and fails the
// test when bound passes first, with what and the last thing cond saw.
// bound guards against a hung test; it is not a performance assertion.
func Eventually(t testing.TB, bound time.Duration, what string, cond func() (bool, string)) {
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

// ExpectEvent waits, up to bound, for an event of reason about obj whose
// note contains substr; else it fails the test, listing the notes of that
// reason it saw.
func (cp *ControlPlane) ExpectEvent(t testing.TB, bound time.Duration, obj client.Object, reason, substr string) {
	t.Helper()
	Eventually(t, bound, "event "+reason+" about "+obj.GetNamespace()+"/"+obj.GetName()+" containing "+substr, func() (bool, string) {
		notes, err := cp.EventNotes(context.Background(), obj, reason)
		if err != nil {
			return false, err.Error()
		}
		return slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, substr) }), strings.Join(notes, " | ")
	})
}
