// Package monitoring_test checks config/monitoring: the alert rules with
// promtool (syntax, and a unit test with synthetic series for each alert),
// the PrometheusRule against the plain rules file, the dashboard's queries,
// and that every edgecert metric they name is one edgecert registers.
package monitoring_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	// The manager registers every metric edgecert serves (its own and
	// controller-runtime's), as `edgecert controller` does.
	_ "github.com/edgecert/edgecert/internal/manager"
	"github.com/edgecert/edgecert/internal/testenv"
)

// promtool runs bin/promtool-<version> in this directory and returns its
// output; it fails the test when promtool fails.
func promtool(t *testing.T, args ...string) string {
	t.Helper()
	path, err := testenv.Promtool()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

type rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type group struct {
	Name  string `json:"name"`
	Rules []rule `json:"rules"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func rulesFile(t *testing.T) []group {
	t.Helper()
	var f struct {
		Groups []group `json:"groups"`
	}
	readYAML(t, "rules.yaml", &f)
	return f.Groups
}

func alerts(t *testing.T) []rule {
	t.Helper()
	var out []rule
	for _, g := range rulesFile(t) {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

// The alerts the operations guide promises, each with a runbook.
var wantAlerts = []string{
	"EdgecertCertificateExpiringNotRenewing",
	"EdgecertIssuanceFailing",
	"EdgecertACMERateLimited",
	"EdgecertDNSPublishingFailing",
	"EdgecertBundleTooLarge",
	"EdgecertBundleNearlyFull",
}

func TestRulesPassPromtool(t *testing.T) {
	if out := promtool(t, "check", "rules", "rules.yaml"); !strings.Contains(out, fmt.Sprintf("SUCCESS: %d rules found", len(wantAlerts))) {
		t.Errorf("promtool check rules:\n%s", out)
	}
	if out := promtool(t, "test", "rules", filepath.Join("tests", "alerts.yaml")); !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules:\n%s", out)
	}
}

// Each alert has a case where it fires and one where it does not, in the
// promtool unit tests.
func TestEveryAlertIsTestedFiringAndNot(t *testing.T) {
	var f struct {
		RuleFiles          []string `json:"rule_files"`
		EvaluationInterval string   `json:"evaluation_interval"`
		Tests              []struct {
			Interval    string `json:"interval"`
			InputSeries []struct {
				Series string `json:"series"`
				Values string `json:"values"`
			} `json:"input_series"`
			AlertRuleTest []struct {
				EvalTime  string           `json:"eval_time"`
				Alertname string           `json:"alertname"`
				ExpAlerts []map[string]any `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	readYAML(t, filepath.Join("tests", "alerts.yaml"), &f)
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range f.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	var got []string
	for _, a := range alerts(t) {
		got = append(got, a.Alert)
		if !firing[a.Alert] || !quiet[a.Alert] {
			t.Errorf("%s: tested firing %v, not firing %v; want both", a.Alert, firing[a.Alert], quiet[a.Alert])
		}
	}
	if diff := cmp.Diff(wantAlerts, got); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
}

// prometheusrule.yaml (for the Prometheus Operator) holds exactly the
// groups of rules.yaml.
func TestPrometheusRuleIsTheRulesFile(t *testing.T) {
	var pr struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Groups []group `json:"groups"`
		} `json:"spec"`
	}
	readYAML(t, "prometheusrule.yaml", &pr)
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" || pr.Metadata.Name != "edgecert" {
		t.Errorf("prometheusrule.yaml is %s %s %q", pr.APIVersion, pr.Kind, pr.Metadata.Name)
	}
	if diff := cmp.Diff(rulesFile(t), pr.Spec.Groups); diff != "" {
		t.Errorf("prometheusrule.yaml differs from rules.yaml (-rules.yaml +prometheusrule.yaml):\n%s", diff)
	}
}

// Every alert's runbook_url points at a section of docs/operations.md
// titled with the alert's name.
func TestEveryAlertHasARunbook(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "https://github.com/edgecert/edgecert/blob/main/docs/operations.md#"
	for _, a := range alerts(t) {
		anchor, ok := strings.CutPrefix(a.Annotations["runbook_url"], prefix)
		if !ok {
			t.Errorf("%s: runbook_url %q is not in docs/operations.md", a.Alert, a.Annotations["runbook_url"])
			continue
		}
		// GitHub's anchor of "### EdgecertFoo" is "edgecertfoo".
		heading := regexp.MustCompile(`(?m)^### (` + regexp.QuoteMeta(a.Alert) + `)$`).FindStringSubmatch(string(doc))
		if heading == nil {
			t.Errorf("%s: docs/operations.md has no section \"### %s\"", a.Alert, a.Alert)
			continue
		}
		if want := githubAnchor(heading[1]); anchor != want {
			t.Errorf("%s: runbook anchor %q, the section's is %q", a.Alert, anchor, want)
		}
		if a.Labels["severity"] != "critical" && a.Labels["severity"] != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", a.Alert, a.Labels["severity"])
		}
	}
}

// githubAnchor is how GitHub names a heading's anchor: lower case, spaces
// to dashes, punctuation dropped.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// dashboardExprs returns every query of the dashboard, panels in rows
// included.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string  `json:"title"`
		Panels  []panel `json:"panels"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	}
	var d struct {
		UID    string  `json:"uid"`
		Title  string  `json:"title"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	if d.UID != "edgecert" || d.Title != "edgecert" {
		t.Errorf("dashboard uid %q, title %q", d.UID, d.Title)
	}
	var exprs []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return exprs
}

// The dashboard's queries parse: promtool checks them as recording rules,
// Grafana's variables replaced by what Grafana would put there.
func TestDashboardQueriesParse(t *testing.T) {
	exprs := dashboardExprs(t)
	if len(exprs) < 20 {
		t.Fatalf("%d queries in the dashboard, want its panels' (at least 20)", len(exprs))
	}
	vars := strings.NewReplacer("$__rate_interval", "5m", "$namespace", ".*", "${datasource}", "")
	g := group{Name: "dashboard"}
	for i, e := range exprs {
		g.Rules = append(g.Rules, rule{Record: fmt.Sprintf("dashboard:query%d", i), Expr: vars.Replace(e)})
	}
	data, err := yaml.Marshal(map[string]any{"groups": []group{g}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := promtool(t, "check", "rules", "--lint=none", path); !strings.Contains(out, fmt.Sprintf("SUCCESS: %d rules found", len(exprs))) {
		t.Errorf("promtool check rules on the dashboard's queries:\n%s", out)
	}
}

// Every edgecert metric the rules and the dashboard name is one edgecert
// registers: a metric renamed or misspelled would leave a panel empty and
// an alert silent forever.
func TestReferencedMetricsAreRegistered(t *testing.T) {
	var exprs []string
	for _, a := range alerts(t) {
		exprs = append(exprs, a.Expr)
	}
	exprs = append(exprs, dashboardExprs(t)...)
	names := map[string]bool{}
	for _, e := range exprs {
		for _, n := range regexp.MustCompile(`\bedgecert_[a-z0-9_]+\b`).FindAllString(e, -1) {
			names[n] = true
		}
	}
	// What the rules and dashboard are about, at least.
	for _, n := range []string{
		"edgecert_certificate_expiration_timestamp_seconds", "edgecert_certificate_renewal_timestamp_seconds",
		"edgecert_certificate_ready_status", "edgecert_certificate_failed_issuance_attempts", "edgecert_certificate_stalled",
		"edgecert_certificate_issuance_duration_seconds_bucket", "edgecert_acme_client_requests_total",
		"edgecert_dns_sync_errors_total", "edgecert_gatewayservice_conflict", "edgecert_certmerge_excluded_sources",
		"edgecert_certmerge_bundle_bytes", "edgecert_certmerge_bundle_budget_bytes",
	} {
		if !names[n] {
			t.Errorf("%s is named by neither the rules nor the dashboard", n)
		}
	}
	if registered("edgecert_no_such_metric") {
		t.Fatal("the probe finds a metric nobody registered")
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	for _, n := range sorted {
		if registered(n) {
			continue
		}
		base := regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(n, "")
		if base != n && registered(base) {
			continue
		}
		t.Errorf("%s is not a metric edgecert registers", n)
	}
}

// registered reports whether the registry the manager serves has a
// metric of that name: registering a probe of the same name fails when
// it has (another help text or other labels, or the same descriptor).
func registered(name string) bool {
	probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "probe"})
	if err := ctrlmetrics.Registry.Register(probe); err != nil {
		return true
	}
	ctrlmetrics.Registry.Unregister(probe)
	return false
}
