package certificate

import (
	"context"
	"slices"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/acme"
	"github.com/edgecert/edgecert/internal/issuance"
)

// orphanPool finds the orders a previous controller created and never
// recorded in a Certificate's status: it crashed (or lost its leadership)
// between the CA's answer to newOrder and the status write. Taking such an
// order over instead of creating another keeps the promise that one
// issuance makes one order, and spares the CA's pending-order limits.
//
// For each account, the first order this process is about to create loads
// the account's unfinished orders from the CA once (acme.UnfinishedOrders);
// orders this process created itself are never in it. A CA that lists no
// orders gives an empty pool; Let's Encrypt instead hands back the pending
// order for the same names when asked for a new one.
type orphanPool struct {
	mu       sync.Mutex
	accounts map[string]*accountOrphans
}

type accountOrphans struct {
	mu     sync.Mutex
	loaded bool
	orders []acme.Order
	// mine are the orders this process created.
	mine map[string]bool
}

func (p *orphanPool) account(iss *issuerFacts) *accountOrphans {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.accounts == nil {
		p.accounts = map[string]*accountOrphans{}
	}
	a := p.accounts[iss.account.URL]
	if a == nil {
		a = &accountOrphans{mine: map[string]bool{}}
		p.accounts[iss.account.URL] = a
	}
	return a
}

// take returns an unrecorded pending or ready order for exactly hosts
// (normalized), and removes it from the pool. recorded reports whether a
// Certificate's status holds an order URL.
func (p *orphanPool) take(ctx context.Context, iss *issuerFacts, hosts []string, recorded func(string) (bool, error)) (acme.Order, bool, error) {
	a := p.account(iss)
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.loaded {
		orders, err := iss.client.UnfinishedOrders(ctx, iss.account)
		if err != nil {
			return acme.Order{}, false, err
		}
		a.orders, a.loaded = orders, true
	}
	for i := 0; i < len(a.orders); {
		o := a.orders[i]
		if a.mine[o.URL] || !slices.Equal(issuance.NormalizeHosts(o.Identifiers), hosts) {
			i++
			continue
		}
		taken, err := recorded(o.URL)
		if err != nil {
			return acme.Order{}, false, err
		}
		// Whether a Certificate holds it or this one takes it, it is no
		// orphan to offer again.
		a.orders = slices.Delete(a.orders, i, i+1)
		if !taken {
			return o, true, nil
		}
	}
	return acme.Order{}, false, nil
}

// created notes an order this process made, so it is never taken as an
// orphan.
func (p *orphanPool) created(iss *issuerFacts, url string) {
	a := p.account(iss)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mine[url] = true
}

// orderURLIndex holds status.order.url of each Certificate.
const orderURLIndex = "status.order.url"

// recorded reports whether any Certificate's status holds the order.
func (r *Reconciler) recorded(ctx context.Context, url string) (bool, error) {
	var list edgecertv1alpha1.CertificateList
	if err := r.Client.List(ctx, &list, client.MatchingFields{orderURLIndex: url}); err != nil {
		return false, err
	}
	return len(list.Items) > 0, nil
}
