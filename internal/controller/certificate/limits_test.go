package certificate

import (
	"testing"
	"time"
)

func TestOrderLimits(t *testing.T) {
	for _, tc := range []struct {
		maxAge time.Duration
		routed bool
		want   time.Duration
	}{
		{maxAge: time.Hour, routed: false, want: time.Hour},
		{maxAge: time.Hour, routed: true, want: 10 * time.Minute},
		{maxAge: 5 * time.Minute, routed: true, want: 5 * time.Minute},
	} {
		if got := orderLimits(tc.maxAge, tc.routed).MaxAge; got != tc.want {
			t.Errorf("orderLimits(%s, routed=%v).MaxAge = %s, want %s", tc.maxAge, tc.routed, got, tc.want)
		}
	}
}
