package testenv

import (
	"bufio"
	"context"
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
