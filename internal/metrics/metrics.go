// Package metrics defines edgecert's Prometheus metrics, all prefixed
// edgecert_, registered with controller-runtime's registry and so served on
// the manager's metrics endpoint.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// CertificateExpiry is each Certificate's notAfter.
	CertificateExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_certificate_expiration_timestamp_seconds",
		Help: "The date after which the certificate expires, as a Unix timestamp.",
	}, []string{"namespace", "name", "issuer_name", "issuer_kind"})

	// CertificateRenewal is each Certificate's planned renewal time.
	CertificateRenewal = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_certificate_renewal_timestamp_seconds",
		Help: "When edgecert will renew the certificate, as a Unix timestamp.",
	}, []string{"namespace", "name", "issuer_name", "issuer_kind"})

	// CertificateReady is 1 for the Ready condition's current status.
	CertificateReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_certificate_ready_status",
		Help: "The Ready condition of the certificate: 1 for the condition's current status (True, False, Unknown), 0 for the others.",
	}, []string{"namespace", "name", "condition"})

	// CertificateFailedAttempts is each Certificate's count of failed
	// issuance attempts since its last success (status
	// .failedIssuanceAttempts): above zero, issuance is failing.
	CertificateFailedAttempts = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_certificate_failed_issuance_attempts",
		Help: "Failed issuance attempts of the certificate since its last success.",
	}, []string{"namespace", "name", "issuer_name", "issuer_kind"})

	// CertificateStalled is 1, with the Stalled condition's reason, while
	// a person must act for the Certificate to progress; absent otherwise.
	CertificateStalled = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_certificate_stalled",
		Help: "1 while the certificate is Stalled (a person must act), with the condition's reason; absent otherwise.",
	}, []string{"namespace", "name", "reason"})

	// ACMERequests counts ACME requests by CA, endpoint and outcome.
	ACMERequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgecert_acme_client_requests_total",
		Help: "ACME requests sent, by CA (the directory's host), endpoint (newOrder, order, authz, challenge, finalize, certificate, ...) and outcome (ok, transient, rate_limited, terminal).",
	}, []string{"ca", "endpoint", "outcome"})

	// IssuanceDuration measures orders from creation to a stored Secret.
	IssuanceDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "edgecert_certificate_issuance_duration_seconds",
		Help:    "Time from creating an ACME order to the certificate stored in its Secret.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900},
	}, []string{"issuer_kind", "outcome"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(CertificateExpiry, CertificateRenewal, CertificateReady, CertificateFailedAttempts, CertificateStalled, ACMERequests, IssuanceDuration)
}

// ObserveACME records one ACME request; it is the acme.Engine's Observe hook.
func ObserveACME(ca, endpoint, outcome string) {
	ACMERequests.WithLabelValues(ca, endpoint, outcome).Inc()
}

// SetStalled records whether a Certificate is Stalled, and why (reason
// empty: not Stalled).
func SetStalled(namespace, name, reason string) {
	CertificateStalled.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "name": name})
	if reason != "" {
		CertificateStalled.WithLabelValues(namespace, name, reason).Set(1)
	}
}

// SetReady records the Ready condition's status for one Certificate.
func SetReady(namespace, name, status string) {
	setReady(CertificateReady, status, namespace, name)
}

// setReady sets the gauge of each Ready status (True, False, Unknown) of
// one object, labels first: 1 for status, 0 for the others.
func setReady(g *prometheus.GaugeVec, status string, labels ...string) {
	for _, s := range []string{"True", "False", "Unknown"} {
		v := 0.0
		if s == status {
			v = 1
		}
		g.WithLabelValues(append(labels, s)...).Set(v)
	}
}

// Forget removes a deleted Certificate's series.
func Forget(namespace, name string) {
	labels := prometheus.Labels{"namespace": namespace, "name": name}
	CertificateExpiry.DeletePartialMatch(labels)
	CertificateRenewal.DeletePartialMatch(labels)
	CertificateReady.DeletePartialMatch(labels)
	CertificateFailedAttempts.DeletePartialMatch(labels)
	CertificateStalled.DeletePartialMatch(labels)
}
