package shim

import (
	"strings"
	"sync"
)

// Warnings remembers the warnings last told about each source, so that a
// warning that stays true is told once, not on every pass (a Gateway's
// passes follow every status change of its Certificates). A warning that
// goes away is forgotten, and told again if it comes back. Losing it on
// restart repeats each warning once.
type Warnings struct{ told sync.Map }

// Tell calls emit for each warning of the source (key: what it is about,
// value: its message) that was not told with this message last time, and
// forgets the source's warnings not in current.
func (w *Warnings) Tell(source string, current map[string]string, emit func(key, message string)) {
	prefix := source + "\x00"
	w.told.Range(func(k, _ any) bool {
		if key, ok := strings.CutPrefix(k.(string), prefix); ok {
			if _, still := current[key]; !still {
				w.told.Delete(k)
			}
		}
		return true
	})
	for key, message := range current {
		if last, ok := w.told.Load(prefix + key); ok && last == message {
			continue
		}
		w.told.Store(prefix+key, message)
		emit(key, message)
	}
}
