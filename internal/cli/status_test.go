package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/cli"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/testenv"
)

// platform makes a gateway namespace with an Istio Gateway and a
// GatewayPolicy that claims "<tenant>.example.test" for tenant.
func platform(t *testing.T, tenant string) {
	t.Helper()
	ctx := context.Background()
	gwNS := newNamespace(t, "istio")
	gw := kube.NewUnstructured(kube.IstioGatewayGVK, gwNS, "public")
	gw.Object["spec"] = map[string]any{"selector": map[string]any{"istio": gwNS}, "servers": []any{map[string]any{
		"port": map[string]any{"number": int64(8080), "protocol": "HTTP", "name": "http-platform"}, "hosts": []any{"*/status.platform.test"},
	}}}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	policy := &edgecertv1alpha1.GatewayPolicy{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "policy-"},
		Spec: edgecertv1alpha1.GatewayPolicySpec{
			Gateways: []edgecertv1alpha1.PolicyGateway{{TrafficType: "ingress", Namespace: gwNS, Name: "public"}},
			Claims:   []edgecertv1alpha1.HostClaim{{Namespaces: []string{tenant}, Domains: []string{tenant + ".example.test"}}},
		},
	}
	if err := c().Create(ctx, policy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c().Delete(context.Background(), policy) })
}

func TestStatusShowsEachKindWithStateAndPlainErrors(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "status")
	platform(t, ns)
	newIssuer(t, ns)
	web := newCertificate(t, ns, "web", "pebble", nil, "web."+ns+".example.test")
	orphan := newCertificate(t, ns, "orphan", "nope", nil, "orphan."+ns+".example.test")
	web = waitRevision(t, web, 1)
	waitCondition(t, orphan, edgecertv1alpha1.ReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonIssuerNotReady)
	leaf, _ := secretLeaf(t, ns, "web-tls")

	first := &edgecertv1alpha1.GatewayService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "first"},
		Spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"shop." + ns + ".example.test"}, Port: 80, Protocol: "HTTP"}}
	if err := c().Create(ctx, first); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "first GatewayService Ready", gsReady(first, metav1.ConditionTrue))
	second := &edgecertv1alpha1.GatewayService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "second"},
		Spec: edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"*." + ns + ".example.test"}, Port: 80, Protocol: "HTTP"}}
	if err := c().Create(ctx, second); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "second GatewayService refused", gsReady(second, metav1.ConditionFalse))

	cm := &edgecertv1alpha1.CertMerge{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "edge"},
		Spec: edgecertv1alpha1.CertMergeSpec{SecretName: "edge-bundle", BundleSources: edgecertv1alpha1.BundleSources{
			Secrets: []edgecertv1alpha1.SecretSource{{Name: "web-tls"}, {Name: "missing-tls"}}}}}
	if err := c().Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "CertMerge has run", func() (bool, string) {
		if err := c().Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
			return false, err.Error()
		}
		return len(cm.Status.Sources) == 1 && len(cm.Status.Excluded) == 1, fmt.Sprintf("%+v", cm.Status)
	})

	report, err := cli.Status(ctx, connect(t, ns), ns, false)
	if err != nil {
		t.Fatal(err)
	}
	notAfter, renewal := leaf.NotAfter.UTC(), web.Status.RenewalTime.UTC()
	wantCerts := []cli.CertificateRow{
		{Namespace: ns, Name: "orphan", Hosts: []string{"orphan." + ns + ".example.test"}, Issuer: "Issuer/nope", State: "NotReady",
			Reason: "IssuerNotReady", Error: `the issuer is missing or not Ready: Issuer "nope": Issuer.edgecert.dev "nope" not found`},
		{Namespace: ns, Name: "web", Hosts: []string{"web." + ns + ".example.test"}, Issuer: "Issuer/pebble", State: "Ready", Expiry: &notAfter, Renewal: &renewal},
	}
	utc := cmp.Transformer("UTC", func(t time.Time) time.Time { return t.UTC() })
	if diff := cmp.Diff(wantCerts, report.Certificates, utc); diff != "" {
		t.Errorf("Certificates (-want +got):\n%s", diff)
	}
	gwNS := strings.Split(first.Status.Gateway, "/")[0]
	wantGS := []cli.GatewayServiceRow{
		{Namespace: ns, Name: "first", Hosts: []string{"shop." + ns + ".example.test"}, Port: "HTTP/80", Gateway: gwNS + "/public", State: "Accepted"},
		{Namespace: ns, Name: "second", Hosts: []string{"*." + ns + ".example.test"}, Port: "HTTP/80", State: "Conflict", Reason: "HostConflict",
			Detail: fmt.Sprintf("host *.%s.example.test on port 80 overlaps shop.%s.example.test of GatewayService %s/first, which is already in the Gateway", ns, ns, ns)},
	}
	if diff := cmp.Diff(wantGS, report.GatewayServices); diff != "" {
		t.Errorf("GatewayServices (-want +got):\n%s", diff)
	}
	if got := report.CertMerges; len(got) != 1 || got[0].Kind != "CertMerge" || got[0].Secret != ns+"/edge-bundle" || got[0].Sources != 1 || got[0].Excluded != 1 ||
		got[0].State != "NotReady" || got[0].Reason != "SourcesExcluded" || !got[0].EarliestExpiry.Equal(notAfter) {
		t.Errorf("CertMerges = %+v, want edge with 1 source, 1 excluded, NotReady SourcesExcluded, earliest expiry %s", got, notAfter)
	}

	// What the dashboard and the alerts see of the same objects.
	pebbleHost := strings.TrimPrefix(strings.Split(bed.Pebble.DirectoryURL, "/dir")[0], "https://")
	for _, m := range []struct {
		name   string
		labels map[string]string
		want   func(float64) bool
	}{
		{"edgecert_gatewayservice_conflict", map[string]string{"namespace": ns, "name": "second", "reason": "HostConflict"}, func(v float64) bool { return v == 1 }},
		{"edgecert_gatewayservice_ready_status", map[string]string{"namespace": ns, "name": "first", "condition": "True"}, func(v float64) bool { return v == 1 }},
		{"edgecert_certmerge_excluded_sources", map[string]string{"kind": "CertMerge", "namespace": ns, "name": "edge", "reason": "NotFound"}, func(v float64) bool { return v == 1 }},
		{"edgecert_certmerge_sources", map[string]string{"kind": "CertMerge", "namespace": ns, "name": "edge"}, func(v float64) bool { return v == 1 }},
		{"edgecert_certmerge_bundle_budget_bytes", map[string]string{"kind": "CertMerge", "namespace": ns, "name": "edge"}, func(v float64) bool { return v == 960*1024 }},
		{"edgecert_certmerge_bundle_bytes", map[string]string{"kind": "CertMerge", "namespace": ns, "name": "edge"}, func(v float64) bool { return v > 1000 && v < 960*1024 }},
		{"edgecert_certificate_failed_issuance_attempts", map[string]string{"namespace": ns, "name": "web", "issuer_name": "pebble", "issuer_kind": "Issuer"}, func(v float64) bool { return v == 0 }},
		{"edgecert_acme_client_requests_total", map[string]string{"ca": pebbleHost, "endpoint": "newOrder", "outcome": "ok"}, func(v float64) bool { return v >= 1 }},
	} {
		// Recorded right after the status the test waited for.
		testenv.Eventually(t, fmt.Sprintf("%s%v", m.name, m.labels), func() (bool, string) {
			v, ok := metricValue(t, m.name, m.labels)
			return ok && m.want(v), fmt.Sprintf("%v (present %v)", v, ok)
		})
	}
	if _, ok := metricValue(t, "edgecert_gatewayservice_conflict", map[string]string{"namespace": ns, "name": "first", "reason": "HostConflict"}); ok {
		t.Error("the accepted GatewayService has a conflict series")
	}

	// The table, as a person reads it.
	out := printed(t, cli.Table, func(p *cli.Printer) error {
		p.Now = func() time.Time { return notAfter.Add(-72 * time.Hour) }
		return p.PrintStatus(report)
	})
	rows := cells(out)
	wantHeader := []string{"NAMESPACE", "CERTIFICATE", "HOSTS", "ISSUER", "STATE", "EXPIRES", "RENEWAL", "LAST ERROR"}
	if diff := cmp.Diff(wantHeader, rows[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s\n%s", diff, out)
	}
	wantWeb := []string{ns, "web", "web." + ns + ".example.test", "Issuer/pebble", "Ready", notAfter.Format("2006-01-02 15:04") + " (in 3d)", renewal.Format("2006-01-02 15:04") + " (" + relativeWant(renewal.Sub(notAfter.Add(-72*time.Hour))) + ")", "-"}
	if !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, wantWeb) }) {
		t.Errorf("no row %q in\n%s", wantWeb, out)
	}
	// The conflict row names who keeps the host.
	wantConflict := []string{ns, "second", "*." + ns + ".example.test", "HTTP/80", "-", "Conflict"}
	if !slices.ContainsFunc(rows, func(r []string) bool {
		return len(r) == 7 && slices.Equal(r[:6], wantConflict) && r[6] == wantGS[1].Detail
	}) {
		t.Errorf("no conflict row %q in\n%s", wantConflict, out)
	}

	// JSON for scripts.
	var decoded struct {
		Certificates []struct{ Name, State, Error string }
	}
	if err := json.Unmarshal([]byte(printed(t, cli.JSON, func(p *cli.Printer) error { return p.PrintStatus(report) })), &decoded); err != nil {
		t.Fatal(err)
	}
	if len(decoded.Certificates) != 2 || decoded.Certificates[0].Name != "orphan" || decoded.Certificates[0].State != "NotReady" {
		t.Errorf("JSON certificates = %+v", decoded.Certificates)
	}

	// -A: this namespace's rows among everyone's.
	all, err := cli.Status(ctx, connect(t, ns), "", true)
	if err != nil {
		t.Fatal(err)
	}
	if n := countIn(all.Certificates, ns); n != 2 || len(all.Certificates) < 2 {
		t.Errorf("-A lists %d of this namespace's 2 Certificates", n)
	}
}

// relativeWant is how the table shows a duration from now, written here
// for the test: whole days past two days.
func relativeWant(d time.Duration) string {
	if d < 0 {
		return fmt.Sprintf("%dd ago", int(-d/(24*time.Hour)))
	}
	return fmt.Sprintf("in %dd", int(d/(24*time.Hour)))
}

func countIn(rows []cli.CertificateRow, ns string) int {
	n := 0
	for _, r := range rows {
		if r.Namespace == ns {
			n++
		}
	}
	return n
}

func gsReady(gs *edgecertv1alpha1.GatewayService, status metav1.ConditionStatus) func() (bool, string) {
	return func() (bool, string) {
		if err := c().Get(context.Background(), client.ObjectKeyFromObject(gs), gs); err != nil {
			return false, err.Error()
		}
		for _, cond := range gs.Status.Conditions {
			if cond.Type == edgecertv1alpha1.ReadyCondition && cond.Status == status {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", gs.Status.Conditions)
	}
}

func TestNewPrinterRefusesUnknownFormats(t *testing.T) {
	_, err := cli.NewPrinter(nil, "xml")
	if err == nil || err.Error() != `unknown output format "xml": use -o table, json or yaml` {
		t.Errorf("error = %v", err)
	}
}

// Colours (on a terminal) mark states and take no room: the table lines
// up as it does without them.
func TestColoursDoNotShiftColumns(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	expiry := now.Add(90 * 24 * time.Hour)
	report := &cli.StatusReport{Certificates: []cli.CertificateRow{
		{Namespace: "a", Name: "ok", Hosts: []string{"ok.example.test"}, Issuer: "Issuer/le", State: "Ready", Expiry: &expiry},
		{Namespace: "a", Name: "stuck", Hosts: []string{"stuck.example.test"}, Issuer: "Issuer/le", State: "Stalled", Error: "the DNS provider refused the challenge record"},
	}}
	render := func(color bool) string {
		var b strings.Builder
		p := &cli.Printer{Out: &b, Format: cli.Table, Color: color, Now: func() time.Time { return now }}
		if err := p.PrintStatus(report); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	plainOut, colored := render(false), render(true)
	want := "NAMESPACE  CERTIFICATE  HOSTS               ISSUER     STATE    EXPIRES                    RENEWAL  LAST ERROR\n" +
		"a          ok           ok.example.test     Issuer/le  Ready    2027-02-28 12:00 (in 90d)  -        -\n" +
		"a          stuck        stuck.example.test  Issuer/le  Stalled  -                          -        the DNS provider refused the challenge record\n"
	if plainOut != want {
		t.Errorf("table:\n%s\nwant:\n%s", plainOut, want)
	}
	if !strings.Contains(colored, "\x1b[32mReady\x1b[0m") || !strings.Contains(colored, "\x1b[31mStalled\x1b[0m") {
		t.Errorf("coloured table has no green Ready and red Stalled:\n%q", colored)
	}
	if stripped := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(colored, ""); stripped != want {
		t.Errorf("coloured table without its colours:\n%s\nwant:\n%s", stripped, want)
	}
}
