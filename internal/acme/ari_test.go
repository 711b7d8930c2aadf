package acme

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseRenewalInfo(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"suggestedWindow":{"start":"2027-01-01T00:00:00Z","end":"2027-01-03T00:00:00Z"},"explanationURL":"https://ca.test/why"}`)
	start, end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 3, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		body       []byte
		retryAfter string
		want       RenewalWindow
		wantErr    string
	}{
		"retry-after in seconds":      {body: body, retryAfter: "21600", want: RenewalWindow{Start: start, End: end, ExplanationURL: "https://ca.test/why", RetryAfter: 6 * time.Hour}},
		"no retry-after: six hours":   {body: body, want: RenewalWindow{Start: start, End: end, ExplanationURL: "https://ca.test/why", RetryAfter: 6 * time.Hour}},
		"too soon: a minute at least": {body: body, retryAfter: "5", want: RenewalWindow{Start: start, End: end, ExplanationURL: "https://ca.test/why", RetryAfter: time.Minute}},
		"too late: a day at most":     {body: body, retryAfter: now.Add(7 * 24 * time.Hour).Format(http.TimeFormat), want: RenewalWindow{Start: start, End: end, ExplanationURL: "https://ca.test/why", RetryAfter: 24 * time.Hour}},
		"garbage retry-after ignored": {body: body, retryAfter: "soon", want: RenewalWindow{Start: start, End: end, ExplanationURL: "https://ca.test/why", RetryAfter: 6 * time.Hour}},
		"end before start":            {body: []byte(`{"suggestedWindow":{"start":"2027-01-03T00:00:00Z","end":"2027-01-01T00:00:00Z"}}`), wantErr: "renewalInfo: the suggested window is invalid (its end does not come after its start)"},
		"empty window":                {body: []byte(`{}`), wantErr: "renewalInfo: the suggested window is invalid (its end does not come after its start)"},
		"not JSON":                    {body: []byte(`<html>`), wantErr: "renewalInfo: invalid character '<' looking for beginning of value"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseRenewalInfo(tc.body, tc.retryAfter, now)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("window (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNextLink(t *testing.T) {
	for name, tc := range map[string]struct {
		links []string
		want  string
	}{
		"next":           {[]string{`<https://ca.test/orders/1/page/2>;rel="next"`}, "https://ca.test/orders/1/page/2"},
		"among others":   {[]string{`<https://ca.test/dir>;rel="index"`, `<https://ca.test/o/2>; rel="next"`}, "https://ca.test/o/2"},
		"in one header":  {[]string{`<https://ca.test/dir>;rel="index", <https://ca.test/o/3>;rel="next"`}, "https://ca.test/o/3"},
		"no next":        {[]string{`<https://ca.test/dir>;rel="index"`}, ""},
		"no Link at all": {nil, ""},
	} {
		h := http.Header{}
		for _, l := range tc.links {
			h.Add("Link", l)
		}
		if got := nextLink(h); got != tc.want {
			t.Errorf("%s: nextLink = %q, want %q", name, got, tc.want)
		}
	}
}
