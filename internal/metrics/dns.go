package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// DNSRecords is how many records edgecert owns in each zone, by type.
	DNSRecords = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_dns_records",
		Help: "Address records edgecert owns in a DNSZone, by type.",
	}, []string{"zone", "type"})
	// DNSChanges counts the RRset changes sent to DNS services.
	DNSChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgecert_dns_changes_total",
		Help: "RRset changes applied to DNSZones (ownership records included), by action: create, update, delete.",
	}, []string{"zone", "action"})
	// DNSSyncErrors counts zone passes that failed at the DNS service.
	DNSSyncErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgecert_dns_sync_errors_total",
		Help: "DNSZone passes that failed to list or change the zone.",
	}, []string{"zone"})
	// DNSOwnerConflicts is how many wanted records a zone cannot publish
	// because another owner, or a hand-made record, holds the name.
	DNSOwnerConflicts = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgecert_dns_owner_conflicts",
		Help: "Wanted records of a DNSZone held by another owner or by data edgecert does not own.",
	}, []string{"zone"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(DNSRecords, DNSChanges, DNSSyncErrors, DNSOwnerConflicts)
}
