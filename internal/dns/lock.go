package dns

import (
	"context"
	"strings"
	"sync"
)

// recordLocks serializes, within the process, the read-modify-write cycles
// of providers whose API replaces a whole record set (Route 53's UPSERT):
// two orders validating the same name (example.com and *.example.com) must
// not each write the set without the other's value. It is keyed by zone
// and record name, not by provider instance, since a solver's provider is
// rebuilt when its credentials are read again. Across processes, leader
// election leaves one writer.
var recordLocks = struct {
	mu    sync.Mutex
	locks map[string]*recordLock
}{locks: map[string]*recordLock{}}

type recordLock struct {
	ch    chan struct{}
	users int
}

// LockRecord takes the process-wide lock of one record set (zone, for
// instance a hosted zone ID, and fqdn), waiting at most as long as ctx
// allows, and returns the function that releases it.
func LockRecord(ctx context.Context, zone, fqdn string) (func(), error) {
	key := strings.ToLower(zone) + "/" + Fqdn(fqdn)
	recordLocks.mu.Lock()
	l := recordLocks.locks[key]
	if l == nil {
		l = &recordLock{ch: make(chan struct{}, 1)}
		recordLocks.locks[key] = l
	}
	l.users++
	recordLocks.mu.Unlock()
	done := func() {
		recordLocks.mu.Lock()
		if l.users--; l.users == 0 {
			delete(recordLocks.locks, key)
		}
		recordLocks.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, Wrap("wait for another change of "+Fqdn(fqdn)+": "+ctx.Err().Error(), ErrRetryable, ctx.Err())
	}
}
