package shim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWarningsAreToldOnceWhileTheyHold(t *testing.T) {
	var w Warnings
	var told []string
	tell := func(source string, current map[string]string) {
		w.Tell(source, current, func(key, message string) { told = append(told, source+" "+key+": "+message) })
	}
	steps := []struct {
		source  string
		current map[string]string
		want    []string
	}{
		{source: "gw a", current: map[string]string{"route 1": "m1"}, want: []string{"gw a route 1: m1"}},
		{source: "gw a", current: map[string]string{"route 1": "m1"}},                                       // still true: quiet
		{source: "gw b", current: map[string]string{"route 1": "m1"}, want: []string{"gw b route 1: m1"}},   // another source
		{source: "gw a", current: map[string]string{"route 1": "m1b"}, want: []string{"gw a route 1: m1b"}}, // message changed
		{source: "gw a", current: nil},                                                                      // gone: forgotten
		{source: "gw b", current: map[string]string{"route 1": "m1"}},                                       // b untouched by a
		{source: "gw a", current: map[string]string{"route 1": "m1b"}, want: []string{"gw a route 1: m1b"}}, // back: told again
	}
	for i, s := range steps {
		told = nil
		tell(s.source, s.current)
		if diff := cmp.Diff(s.want, told); diff != "" {
			t.Errorf("step %d (-want +got):\n%s", i, diff)
		}
	}
}
