package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// GatewayWrites counts the writes (updates and deletions) of shared
	// Istio Gateways for GatewayServices: with batching, far fewer than
	// the changes they carry.
	GatewayWrites = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgecert_gateway_writes_total",
		Help: "Writes (updates and deletions) of Istio Gateways for GatewayServices.",
	})
	// GatewayBatchSize is how many GatewayService passes each Gateway
	// batch planned together.
	GatewayBatchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "edgecert_gateway_batch_size",
		Help:    "GatewayService passes planned together in one Gateway batch.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
	})
)

func init() {
	ctrlmetrics.Registry.MustRegister(GatewayWrites, GatewayBatchSize)
}
