package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// GatewayService and CertMerge state, one series per object, set after
// each pass from the status it wrote and removed with the object.
var (
	// GatewayServiceReady is 1 for the Ready condition's current status.
	GatewayServiceReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_gatewayservice_ready_status",
		Help: "The Ready condition of the GatewayService: 1 for the condition's current status (True, False, Unknown), 0 for the others.",
	}, []string{"namespace", "name", "condition"})

	// GatewayServiceConflict is 1, with the reason (HostConflict,
	// PortConflict, PortNameConflict), while another server keeps the
	// GatewayService out of its Gateway; absent otherwise.
	GatewayServiceConflict = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_gatewayservice_conflict",
		Help: "1 while another server keeps the GatewayService out of its Gateway, with the reason (HostConflict, PortConflict, PortNameConflict); absent otherwise.",
	}, []string{"namespace", "name", "reason"})

	// CertMergeReady is 1 for the Ready condition's current status.
	CertMergeReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_certmerge_ready_status",
		Help: "The Ready condition of the CertMerge or ClusterCertMerge: 1 for the condition's current status (True, False, Unknown), 0 for the others.",
	}, []string{"kind", "namespace", "name", "condition"})

	// CertMergeSources is how many sources the bundle holds.
	CertMergeSources = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_certmerge_sources",
		Help: "Sources in the bundle of the CertMerge or ClusterCertMerge.",
	}, []string{"kind", "namespace", "name"})

	// CertMergeExcluded is how many selected sources are left out of the
	// bundle (or kept at their last good data), by reason.
	CertMergeExcluded = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_certmerge_excluded_sources",
		Help: "Selected sources left out of the bundle or kept at their last good data, by reason (BundleTooLarge, NotFound, ...).",
	}, []string{"kind", "namespace", "name", "reason"})

	// CertMergeBundleBytes and CertMergeBudgetBytes are what the bundle
	// costs against its budget, and the budget (under the 1 MiB a Secret
	// may hold).
	CertMergeBundleBytes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_certmerge_bundle_bytes",
		Help: "Bytes the bundle's entries and origin record take against its budget.",
	}, []string{"kind", "namespace", "name"})
	CertMergeBudgetBytes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_certmerge_bundle_budget_bytes",
		Help: "The bundle's size budget in bytes; sources that do not fit are left out (BundleTooLarge).",
	}, []string{"kind", "namespace", "name"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(GatewayServiceReady, GatewayServiceConflict, CertMergeReady, CertMergeSources,
		CertMergeExcluded, CertMergeBundleBytes, CertMergeBudgetBytes)
}

// SetGatewayService records a GatewayService's Ready status and, when a
// conflict keeps it out (conflictReason not empty), the conflict.
func SetGatewayService(namespace, name, readyStatus, conflictReason string) {
	setReady(GatewayServiceReady, readyStatus, namespace, name)
	GatewayServiceConflict.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "name": name})
	if conflictReason != "" {
		GatewayServiceConflict.WithLabelValues(namespace, name, conflictReason).Set(1)
	}
}

// ForgetGatewayService removes a deleted GatewayService's series.
func ForgetGatewayService(namespace, name string) {
	labels := prometheus.Labels{"namespace": namespace, "name": name}
	GatewayServiceReady.DeletePartialMatch(labels)
	GatewayServiceConflict.DeletePartialMatch(labels)
}

// CertMergeState is what a CertMerge pass leaves, for SetCertMerge.
type CertMergeState struct {
	Ready    string
	Sources  int
	Excluded map[string]int
	// Bytes and Budget are set when the pass merged (zero: unchanged).
	Bytes, Budget int
}

// SetCertMerge records a CertMerge's (or ClusterCertMerge's) state.
func SetCertMerge(kind, namespace, name string, st CertMergeState) {
	setReady(CertMergeReady, st.Ready, kind, namespace, name)
	CertMergeSources.WithLabelValues(kind, namespace, name).Set(float64(st.Sources))
	CertMergeExcluded.DeletePartialMatch(prometheus.Labels{"kind": kind, "namespace": namespace, "name": name})
	for reason, n := range st.Excluded {
		CertMergeExcluded.WithLabelValues(kind, namespace, name, reason).Set(float64(n))
	}
	if st.Budget > 0 {
		CertMergeBundleBytes.WithLabelValues(kind, namespace, name).Set(float64(st.Bytes))
		CertMergeBudgetBytes.WithLabelValues(kind, namespace, name).Set(float64(st.Budget))
	}
}

// ForgetCertMerge removes a deleted CertMerge's series.
func ForgetCertMerge(kind, namespace, name string) {
	labels := prometheus.Labels{"kind": kind, "namespace": namespace, "name": name}
	for _, g := range []*prometheus.GaugeVec{CertMergeReady, CertMergeSources, CertMergeExcluded, CertMergeBundleBytes, CertMergeBudgetBytes} {
		g.DeletePartialMatch(labels)
	}
}
