package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// States shown in the STATE columns.
const (
	// StateReady: the certificate is valid and nothing is being done.
	StateReady = "Ready"
	// StateRenewing: valid, and a new certificate is being obtained.
	StateRenewing = "Renewing"
	// StateIssuing: no usable certificate yet; an order is under way.
	StateIssuing = "Issuing"
	// StateFailed: the last attempt failed; edgecert retries after a
	// backoff.
	StateFailed = "Failed"
	// StateStalled: edgecert waits for a person (credentials, spec, claims).
	StateStalled = "Stalled"
	// StateExpired: the certificate in the Secret has expired.
	StateExpired = "Expired"
	// StatePending: edgecert has not looked at the object yet.
	StatePending = "Pending"
	// StateNotReady: not Ready for another reason (the DETAIL says which).
	StateNotReady = "NotReady"
	// StateAccepted: a GatewayService's server is in its Gateway.
	StateAccepted = "Accepted"
	// StateConflict: another server keeps the GatewayService's host, port
	// or port name; the DETAIL names it.
	StateConflict = "Conflict"
)

// StatusReport is what `edgecert status` shows.
type StatusReport struct {
	Certificates    []CertificateRow    `json:"certificates"`
	GatewayServices []GatewayServiceRow `json:"gatewayServices"`
	CertMerges      []CertMergeRow      `json:"certMerges"`
	// Warnings are the kinds that could not be listed (RBAC, missing CRD).
	Warnings []string `json:"warnings,omitempty"`
}

// CertificateRow is one Certificate.
type CertificateRow struct {
	Namespace string     `json:"namespace"`
	Name      string     `json:"name"`
	Hosts     []string   `json:"hosts"`
	Issuer    string     `json:"issuer"`
	State     string     `json:"state"`
	Expiry    *time.Time `json:"expiry,omitempty"`
	Renewal   *time.Time `json:"renewal,omitempty"`
	// Reason is the condition reason behind Error.
	Reason string `json:"reason,omitempty"`
	// Error is the last error in plain words; empty when there is none.
	Error string `json:"error,omitempty"`
}

// GatewayServiceRow is one GatewayService.
type GatewayServiceRow struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Hosts     []string `json:"hosts"`
	Port      string   `json:"port"`
	Gateway   string   `json:"gateway,omitempty"`
	State     string   `json:"state"`
	Reason    string   `json:"reason,omitempty"`
	// Detail is the Ready message: for a conflict it names the server
	// that keeps the host or port.
	Detail string `json:"detail,omitempty"`
}

// CertMergeRow is one CertMerge or ClusterCertMerge.
type CertMergeRow struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Secret is the bundle Secret, "namespace/name".
	Secret         string     `json:"secret"`
	Sources        int        `json:"sources"`
	Excluded       int        `json:"excluded"`
	EarliestExpiry *time.Time `json:"earliestExpiry,omitempty"`
	State          string     `json:"state"`
	Reason         string     `json:"reason,omitempty"`
	Detail         string     `json:"detail,omitempty"`
}

// Status lists Certificates, GatewayServices and CertMerges in namespace,
// or in every namespace (ClusterCertMerges included) when all is set.
// Kinds the caller may not list become warnings, not errors, so a tenant
// with access to its namespace only still gets its table.
func Status(ctx context.Context, c client.Client, namespace string, all bool) (*StatusReport, error) {
	var opts []client.ListOption
	if !all {
		opts = append(opts, client.InNamespace(namespace))
	}
	r := &StatusReport{Certificates: []CertificateRow{}, GatewayServices: []GatewayServiceRow{}, CertMerges: []CertMergeRow{}}
	warn := func(kind string, err error) error {
		if apierrors.IsForbidden(err) || meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s not listed: %v", kind, err))
			return nil
		}
		return fmt.Errorf("list %s: %w", kind, err)
	}

	var certs edgecertv1alpha1.CertificateList
	if err := c.List(ctx, &certs, opts...); err != nil {
		if err := warn("Certificates", err); err != nil {
			return nil, err
		}
	}
	for i := range certs.Items {
		r.Certificates = append(r.Certificates, certificateRow(&certs.Items[i], time.Now()))
	}

	var gss edgecertv1alpha1.GatewayServiceList
	if err := c.List(ctx, &gss, opts...); err != nil {
		if err := warn("GatewayServices", err); err != nil {
			return nil, err
		}
	}
	for i := range gss.Items {
		r.GatewayServices = append(r.GatewayServices, gatewayServiceRow(&gss.Items[i]))
	}

	var cms edgecertv1alpha1.CertMergeList
	if err := c.List(ctx, &cms, opts...); err != nil {
		if err := warn("CertMerges", err); err != nil {
			return nil, err
		}
	}
	for _, cm := range cms.Items {
		r.CertMerges = append(r.CertMerges, certMergeRow("CertMerge", cm.Namespace, cm.Name, cm.Namespace+"/"+cm.Spec.SecretName, &cm.Status))
	}
	if all {
		var ccms edgecertv1alpha1.ClusterCertMergeList
		if err := c.List(ctx, &ccms); err != nil {
			if err := warn("ClusterCertMerges", err); err != nil {
				return nil, err
			}
		}
		for _, cm := range ccms.Items {
			r.CertMerges = append(r.CertMerges, certMergeRow("ClusterCertMerge", "", cm.Name, cm.Spec.SecretNamespace+"/"+cm.Spec.SecretName, &cm.Status))
		}
	}
	slices.SortFunc(r.Certificates, func(a, b CertificateRow) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	slices.SortFunc(r.GatewayServices, func(a, b GatewayServiceRow) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	slices.SortFunc(r.CertMerges, func(a, b CertMergeRow) int {
		return strings.Compare(a.Kind+"/"+a.Namespace+"/"+a.Name, b.Kind+"/"+b.Namespace+"/"+b.Name)
	})
	return r, nil
}

// certificateRow summarises a Certificate from its status: the state from
// its conditions, the error from the condition that explains it.
func certificateRow(cert *edgecertv1alpha1.Certificate, now time.Time) CertificateRow {
	st := cert.Status
	row := CertificateRow{
		Namespace: cert.Namespace, Name: cert.Name, Hosts: cert.Spec.DNSNames,
		Issuer: cert.Spec.IssuerRef.KindOrDefault() + "/" + cert.Spec.IssuerRef.Name,
	}
	if st.NotAfter != nil {
		t := st.NotAfter.Time
		row.Expiry = &t
	}
	if st.RenewalTime != nil {
		t := st.RenewalTime.Time
		row.Renewal = &t
	}
	row.State, row.Reason, row.Error = certificateState(st.Conditions, st.NotAfter, now)
	return row
}

// certificateState turns conditions into a state word, and the reason and
// plain-words message of what is wrong, if anything.
func certificateState(conds []metav1.Condition, notAfter *metav1.Time, now time.Time) (state, reason, msg string) {
	ready := meta.FindStatusCondition(conds, edgecertv1alpha1.ReadyCondition)
	issuing := meta.FindStatusCondition(conds, edgecertv1alpha1.IssuingCondition)
	stalled := meta.FindStatusCondition(conds, edgecertv1alpha1.StalledCondition)
	reconciling := meta.FindStatusCondition(conds, edgecertv1alpha1.ReconcilingCondition)
	isTrue := func(c *metav1.Condition) bool { return c != nil && c.Status == metav1.ConditionTrue }
	isFalse := func(c *metav1.Condition) bool { return c != nil && c.Status == metav1.ConditionFalse }

	switch {
	case ready == nil:
		state = StatePending
	case isTrue(stalled):
		state, reason, msg = StateStalled, stalled.Reason, stalled.Message
	case isFalse(issuing):
		state, reason, msg = StateFailed, issuing.Reason, issuing.Message
	case isTrue(ready) && isTrue(issuing):
		state = StateRenewing
	case isTrue(ready):
		state = StateReady
	case notAfter != nil && !now.Before(notAfter.Time):
		state, reason, msg = StateExpired, ready.Reason, ready.Message
	case isTrue(issuing):
		state, reason, msg = StateIssuing, ready.Reason, ready.Message
	default:
		state, reason, msg = StateNotReady, ready.Reason, ready.Message
	}
	// What the order waits for, or a transient error, says more than the
	// Ready message while issuing.
	if isTrue(reconciling) && (state == StateIssuing || state == StateRenewing) && reconciling.Reason != edgecertv1alpha1.ReasonProgressing {
		reason, msg = reconciling.Reason, reconciling.Message
	}
	if state == StateIssuing && reason == edgecertv1alpha1.ReasonDoesNotExist {
		// Not an error: the first certificate is on its way.
		reason, msg = "", ""
	}
	return state, reason, plain(reason, msg)
}

// plainReasons say each reason in words a person on call reads first.
var plainReasons = map[string]string{
	edgecertv1alpha1.ReasonDNSNotAuthorized:             "the DNS provider refused the challenge record",
	edgecertv1alpha1.ReasonOrderFailed:                  "the CA failed the order",
	edgecertv1alpha1.ReasonRateLimited:                  "the CA asks to wait (rate limited)",
	edgecertv1alpha1.ReasonIssuerNotReady:               "the issuer is missing or not Ready",
	edgecertv1alpha1.ReasonInvalidSpec:                  "the spec cannot be acted on",
	edgecertv1alpha1.ReasonSecretNotOwned:               "a Secret of that name exists and is not edgecert's",
	edgecertv1alpha1.ReasonHostNotClaimed:               "a host is not claimed for this namespace",
	edgecertv1alpha1.ReasonIssuerNotAllowed:             "the issuer does not allow this namespace or host",
	edgecertv1alpha1.ReasonChallengeRouteFailed:         "the HTTP-01 route through Istio cannot be made",
	edgecertv1alpha1.ReasonOrderAbandoned:               "the order was given up",
	edgecertv1alpha1.ReasonReplacesRejected:             "the CA refused a renewal naming the old certificate",
	edgecertv1alpha1.ReasonWaitingForDNSPropagation:     "waiting for DNS",
	edgecertv1alpha1.ReasonWaitingForHTTP01Reachability: "the HTTP-01 answer cannot be reached yet",
	edgecertv1alpha1.ReasonTransientError:               "temporary error, retrying",
	edgecertv1alpha1.ReasonSecretMismatch:               "the Secret does not hold a usable certificate",
	edgecertv1alpha1.ReasonSpecChanged:                  "the spec changed",
	edgecertv1alpha1.ReasonDoesNotExist:                 "not issued yet",
	edgecertv1alpha1.ReasonNoGateway:                    "no GatewayPolicy names a Gateway for this traffic type",
	edgecertv1alpha1.ReasonGatewayNotFound:              "the Gateway does not exist",
	edgecertv1alpha1.ReasonHostConflict:                 "another server keeps the host",
	edgecertv1alpha1.ReasonPortConflict:                 "another server keeps the port",
	edgecertv1alpha1.ReasonPortNameConflict:             "another server has the port name",
	edgecertv1alpha1.ReasonSecretNotFound:               "the TLS Secret does not exist",
	edgecertv1alpha1.ReasonSecretInvalid:                "the TLS Secret is not usable",
	edgecertv1alpha1.ReasonCertificateNotReady:          "the certificate is not issued yet",
	edgecertv1alpha1.ReasonCertificateNotOwned:          "a Certificate of that name is not edgecert's",
	edgecertv1alpha1.ReasonGatewayRejected:              "the API server refused the Gateway",
	edgecertv1alpha1.ReasonSourcesExcluded:              "some sources are left out",
	edgecertv1alpha1.ReasonKeyCollision:                 "two sources map to the same bundle entry",
	edgecertv1alpha1.ReasonBundleTooLarge:               "the bundle is too large; some sources are left out",
	edgecertv1alpha1.ReasonWorkloadNotFound:             "a workload to roll does not exist",
	edgecertv1alpha1.ReasonWorkloadForbidden:            "edgecert may not roll a workload",
}

// plain is the reason in words, then the message.
func plain(reason, msg string) string {
	words, ok := plainReasons[reason]
	switch {
	case reason == "" && msg == "":
		return ""
	case !ok:
		return strings.TrimSpace(reason + ": " + msg)
	case msg == "":
		return words
	}
	return words + ": " + msg
}

// conflictReasons make a GatewayService's state Conflict.
var conflictReasons = map[string]bool{
	edgecertv1alpha1.ReasonHostConflict:     true,
	edgecertv1alpha1.ReasonPortConflict:     true,
	edgecertv1alpha1.ReasonPortNameConflict: true,
}

func gatewayServiceRow(gs *edgecertv1alpha1.GatewayService) GatewayServiceRow {
	row := GatewayServiceRow{
		Namespace: gs.Namespace, Name: gs.Name, Hosts: gs.Spec.Hosts,
		Port:    strings.ToUpper(gs.Spec.Protocol) + "/" + strconv.Itoa(int(gs.Spec.Port)),
		Gateway: gs.Status.Gateway,
	}
	ready := meta.FindStatusCondition(gs.Status.Conditions, edgecertv1alpha1.ReadyCondition)
	switch {
	case ready == nil:
		row.State = StatePending
	case ready.Status == metav1.ConditionTrue:
		row.State = StateAccepted
	case conflictReasons[ready.Reason]:
		row.State, row.Reason, row.Detail = StateConflict, ready.Reason, ready.Message
	case meta.IsStatusConditionTrue(gs.Status.Conditions, edgecertv1alpha1.StalledCondition):
		row.State, row.Reason, row.Detail = StateStalled, ready.Reason, ready.Message
	default:
		row.State, row.Reason, row.Detail = StateNotReady, ready.Reason, ready.Message
	}
	return row
}

func certMergeRow(kind, namespace, name, secret string, st *edgecertv1alpha1.CertMergeStatus) CertMergeRow {
	row := CertMergeRow{Kind: kind, Namespace: namespace, Name: name, Secret: secret, Sources: len(st.Sources), Excluded: len(st.Excluded)}
	if st.EarliestExpiry != nil {
		t := st.EarliestExpiry.Time
		row.EarliestExpiry = &t
	}
	ready := meta.FindStatusCondition(st.Conditions, edgecertv1alpha1.ReadyCondition)
	switch {
	case ready == nil:
		row.State = StatePending
	case ready.Status == metav1.ConditionTrue:
		row.State = StateReady
	default:
		row.State, row.Reason, row.Detail = StateNotReady, ready.Reason, ready.Message
	}
	return row
}

// PrintStatus prints the report: three tables (each only when it has
// rows), or the whole report as JSON or YAML.
func (p *Printer) PrintStatus(r *StatusReport) error {
	if done, err := p.structured(r); done {
		return err
	}
	var b strings.Builder
	section := func() {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
	}
	if len(r.Certificates) > 0 {
		section()
		rows := make([][]string, 0, len(r.Certificates))
		for _, c := range r.Certificates {
			rows = append(rows, []string{c.Namespace, c.Name, strings.Join(c.Hosts, ","), c.Issuer, p.paint(c.State), p.when(c.Expiry), p.when(c.Renewal), clip(c.Error, 200)})
		}
		table(&b, []string{"NAMESPACE", "CERTIFICATE", "HOSTS", "ISSUER", "STATE", "EXPIRES", "RENEWAL", "LAST ERROR"}, rows)
	}
	if len(r.GatewayServices) > 0 {
		section()
		rows := make([][]string, 0, len(r.GatewayServices))
		for _, g := range r.GatewayServices {
			rows = append(rows, []string{g.Namespace, g.Name, strings.Join(g.Hosts, ","), g.Port, or(g.Gateway), p.paint(g.State), clip(g.Detail, 200)})
		}
		table(&b, []string{"NAMESPACE", "GATEWAYSERVICE", "HOSTS", "PORT", "GATEWAY", "STATE", "DETAIL"}, rows)
	}
	if len(r.CertMerges) > 0 {
		section()
		rows := make([][]string, 0, len(r.CertMerges))
		for _, m := range r.CertMerges {
			rows = append(rows, []string{or(m.Namespace), m.Kind + "/" + m.Name, m.Secret, strconv.Itoa(m.Sources), strconv.Itoa(m.Excluded), p.when(m.EarliestExpiry), p.paint(m.State), clip(m.Detail, 200)})
		}
		table(&b, []string{"NAMESPACE", "CERTMERGE", "BUNDLE", "SOURCES", "EXCLUDED", "EARLIEST EXPIRY", "STATE", "DETAIL"}, rows)
	}
	if b.Len() == 0 {
		b.WriteString("No Certificates, GatewayServices or CertMerges found.\n")
	}
	for _, w := range r.Warnings {
		b.WriteString("warning: " + w + "\n")
	}
	return p.emit(&b)
}
