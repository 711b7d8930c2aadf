package route53_test

import (
	"errors"
	"testing"

	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/dnstest"
	"github.com/edgecert/edgecert/internal/dns/registry"
	"github.com/edgecert/edgecert/internal/dns/route53"
)

// lookupSet reads the test double's state, unquoting TXT values as Route
// 53 presents them.
func lookupSet(t *testing.T, id string) dnstest.Lookup {
	return func(fqdn, typ string) (uint32, []string) {
		t.Helper()
		ttl, values, ok := server.RecordSet(id, fqdn, typ)
		if !ok {
			return 0, nil
		}
		if typ == "TXT" {
			for i, v := range values {
				u, err := route53.UnquoteTXT(v)
				if err != nil {
					t.Fatalf("TXT value %q at %s: %v", v, fqdn, err)
				}
				values[i] = u
			}
		}
		return uint32(ttl), values
	}
}

func TestRecordConformance(t *testing.T) {
	id := server.AddZone("records.test")
	listsBefore, changesBefore := server.Calls("ListResourceRecordSets"), server.Calls("ChangeResourceRecordSets")
	dnstest.RunRecordConformance(t, newProvider(t, nil), "records.test.", lookupSet(t, id))
	// The 300-record batch and the final cleanup need more than one page
	// and more than one change batch each; still far fewer calls than
	// records.
	lists, changes := server.Calls("ListResourceRecordSets")-listsBefore, server.Calls("ChangeResourceRecordSets")-changesBefore
	t.Logf("%d ListResourceRecordSets and %d ChangeResourceRecordSets calls", lists, changes)
	if changes > 8 {
		t.Errorf("ChangeResourceRecordSets calls = %d, want at most 8 (batched)", changes)
	}
	if lists < 7 {
		t.Errorf("ListResourceRecordSets calls = %d, want at least 7 (a 600-record zone is more than one page of 300)", lists)
	}
}

func TestApplyChangesAccessDenied(t *testing.T) {
	server.AddZone("denied.test")
	server.FailNext("ChangeResourceRecordSets", "AccessDenied")
	rec := registry.Record{Name: "x.denied.test.", Type: "A", TTL: 300, Values: []string{"192.0.2.1"}}
	err := newProvider(t, nil).ApplyChanges(t.Context(), "denied.test.", []registry.Change{{Action: registry.Create, New: &rec}})
	if !errors.Is(err, edgedns.ErrNotAuthorized) {
		t.Fatalf("error = %v, want ErrNotAuthorized", err)
	}
}
