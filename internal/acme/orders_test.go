package acme_test

import (
	"context"
	"slices"
	"testing"

	"github.com/edgecert/edgecert/internal/acme"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
)

// A controller that crashed after newOrder finds its orders again in the
// account's order list, page after page, on the real Pebble.
func TestUnfinishedOrdersReadsTheAccountsOrderListPageByPage(t *testing.T) {
	pebble, err := testenv.StartPebble(testenv.PebbleOptions{Env: []string{"PEBBLE_WFE_ORDERS_PER_PAGE=2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer pebble.Stop()
	ctx := context.Background()
	cl, err := (&acme.Engine{}).Client(pebble.DirectoryURL, pebble.ServerCAPEM)
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.GenerateKey(pki.KeySpec{})
	if err != nil {
		t.Fatal(err)
	}
	url, err := cl.Register(ctx, key, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	acct := acme.Account{Key: key, URL: url}
	if got, err := cl.UnfinishedOrders(ctx, acct); err != nil || len(got) != 0 {
		t.Fatalf("new account: %v, %v; want no orders", got, err)
	}
	want := map[string][]string{}
	for _, hosts := range [][]string{{"a.example.test"}, {"*.b.example.test", "b.example.test"}, {"c.example.test"}, {"a.example.test"}, {"d.example.test"}} {
		o, err := cl.NewOrder(ctx, acct, hosts, "default", "")
		if err != nil {
			t.Fatal(err)
		}
		want[o.URL] = hosts
	}
	got, err := cl.UnfinishedOrders(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d orders, want %d (pages of 2)", len(got), len(want))
	}
	for _, o := range got {
		ids := slices.Clone(o.Identifiers)
		slices.Sort(ids)
		if o.Status != "pending" || !slices.Equal(ids, want[o.URL]) {
			t.Errorf("order %s: status %s, identifiers %v; want pending, %v", o.URL, o.Status, ids, want[o.URL])
		}
	}
}
