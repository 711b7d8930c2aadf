package testenv

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// APIRequests reads the API server's own count of the requests it served
// (apiserver_request_total), summed by verb and resource:
// "PATCH certificates/status", "PUT gateways". A benchmark takes two and
// subtracts, so that a figure counts every request, no-op writes included,
// whoever sent it.
func (cp *ControlPlane) APIRequests(ctx context.Context) (map[string]float64, error) {
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return nil, err
	}
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		labels, ok := strings.CutPrefix(sc.Text(), "apiserver_request_total{")
		if !ok {
			continue
		}
		labels, value, _ := strings.Cut(labels, "} ")
		l := map[string]string{}
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			l[k] = strings.Trim(v, `"`)
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		key := l["verb"] + " " + l["resource"]
		if l["subresource"] != "" {
			key += "/" + l["subresource"]
		}
		out[key] += v
	}
	return out, sc.Err()
}

// RequestsPer describes the API requests between two APIRequests counts
// per item (certificate, GatewayService) of a run of n, most first,
// long-lived watches left out: "7.07 requests "PATCH certificates/status"=2.00 ...".
func RequestsPer(before, after map[string]float64, n int) string {
	per := map[string]float64{}
	total := 0.0
	for k, v := range after {
		if d := v - before[k]; d > 0 && !strings.HasPrefix(k, "WATCH") {
			per[k] = d / float64(n)
			total += per[k]
		}
	}
	keys := slices.SortedFunc(maps.Keys(per), func(a, b string) int { return cmp.Compare(per[b], per[a]) })
	var parts []string
	for _, k := range keys {
		if per[k] >= 0.01 {
			parts = append(parts, fmt.Sprintf("%q=%.2f", k, per[k]))
		}
	}
	return fmt.Sprintf("%.2f requests %s", total, strings.Join(parts, " "))
}
