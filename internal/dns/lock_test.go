package dns

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLockRecordSerializesOneNameAndWaitsNoLongerThanTheContext(t *testing.T) {
	unlock, err := LockRecord(context.Background(), "Z1", "_acme-challenge.a.example.")
	if err != nil {
		t.Fatal(err)
	}
	// Another name, or the same name in another zone, is not held up.
	for _, k := range [][2]string{{"Z1", "_acme-challenge.b.example."}, {"Z2", "_acme-challenge.a.example."}} {
		other, err := LockRecord(context.Background(), k[0], k[1])
		if err != nil {
			t.Fatalf("%v: %v", k, err)
		}
		other()
	}
	// The same name (spelled differently) waits, and gives up with ctx.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := LockRecord(ctx, "z1", "_ACME-challenge.a.example"); !errors.Is(err, ErrRetryable) {
		t.Fatalf("err = %v, want a retryable wait error", err)
	}
	unlock()
	again, err := LockRecord(context.Background(), "Z1", "_acme-challenge.a.example.")
	if err != nil {
		t.Fatal(err)
	}
	again()
	if n := len(recordLocks.locks); n != 0 {
		t.Errorf("%d locks left after every holder released, want 0", n)
	}
}
