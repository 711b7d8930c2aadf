package kube

import (
	"errors"
	"math/rand/v2"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// ErrConflict is what a step returns when its write lost an
// optimistic-concurrency race (someone wrote the object since it was
// read). It is not a failure: the pass runs again soon, on the newer copy,
// quietly (no error in the log, nothing in status). The API server's own
// 409 Conflict counts the same.
var ErrConflict = errors.New("conflict: the object changed since it was read")

// IsConflict reports whether err is a lost write race.
func IsConflict(err error) bool {
	return errors.Is(err, ErrConflict) || apierrors.IsConflict(err)
}

// ConflictRequeue is how soon a pass that lost a write race runs again,
// spread over up to as much again so that racing writers part.
func ConflictRequeue() ctrl.Result {
	return ctrl.Result{RequeueAfter: conflictRequeue + time.Duration(rand.Int64N(int64(conflictRequeue)))}
}

const conflictRequeue = 100 * time.Millisecond

// DeletionStarted passes only the update that sets deletionTimestamp, for
// controllers that otherwise watch generation changes only and must see a
// deletion to run their finalizer.
var DeletionStarted = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
	},
}
