package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// HTTP01SelfChecks counts the HTTP-01 self-checks by outcome: a rising
// "failed" count shows answers the CA would not reach, before the CA
// counts them.
var HTTP01SelfChecks = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "edgecert_http01_self_checks_total",
	Help: "HTTP-01 answers fetched the way the CA will before it is told to validate, by outcome (passed, failed).",
}, []string{"outcome"})

func init() {
	ctrlmetrics.Registry.MustRegister(HTTP01SelfChecks)
}
