package testenv

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// pebbleGate fronts Pebble's ACME listener with a reverse proxy that never
// lets an authorization request run at the same time as a new-order,
// order, finalize or order-list request, and forwards every request
// unchanged otherwise.
//
// Why: Pebble v2.10 (every release up to v2.10.3) deadlocks when those
// overlap. Its authorization handler holds the authorization's lock while
// it takes the store's read lock to find the account, and new-order (which
// walks every authorization of the store for reuse) holds the store's read
// lock while it takes each authorization's lock; a writer queued on the
// store lock between them (any new order, challenge or certificate) closes
// the cycle, and Pebble answers nothing more. Measured under load: about one
// Pebble in ten hung within a few hundred orders, the test bed's and a bare
// ACME client's alike. Let's Encrypt's servers do not have this bug, so the
// remedy belongs to the test bed, not to edgecert's client.
type pebbleGate struct {
	srv *http.Server
	lis net.Listener

	mu      sync.Mutex
	cond    *sync.Cond
	active  [2]int
	waiting [2]int
	// turn is the class that goes first when both wait.
	turn int
}

// The two request classes the gate keeps apart.
const (
	gateAuthz = 0
	gateOrder = 1
)

// gateClass is the class of a request, or -1 for requests that may run
// with anything (directory, nonces, accounts, challenges, certificates,
// renewal information).
func gateClass(r *http.Request) int {
	if r.Method != http.MethodPost {
		return -1
	}
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/authZ/"):
		return gateAuthz
	case p == "/order-plz", strings.HasPrefix(p, "/my-order/"), strings.HasPrefix(p, "/finalize-order/"), strings.HasPrefix(p, "/list-orderz/"):
		return gateOrder
	}
	return -1
}

// startPebbleGate serves HTTPS with Pebble's listener certificate on a
// free loopback port and forwards to target (Pebble's listener), keeping
// the Host header so that Pebble's URLs point at the gate. A request is let
// through the gate only once its body is read, and leaves it once Pebble's
// whole answer is read: a client that stalls mid-request or mid-answer (a
// black-holed connection in a test) never holds the gate.
func startPebbleGate(target string, cert tls.Certificate, pebbleCA []byte) (*pebbleGate, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pebbleCA) {
		lis.Close()
		return nil, errors.New("pebble gate: bad CA")
	}
	upstream := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     time.Minute,
	}}
	g := &pebbleGate{lis: lis}
	g.cond = sync.NewCond(&g.mu)
	g.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
			if err != nil {
				return
			}
			status, header, respBody, err := g.forward(upstream, target, r, body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			maps.Copy(w.Header(), header)
			w.WriteHeader(status)
			_, _ = w.Write(respBody)
		}),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = g.srv.ServeTLS(lis, "", "") }()
	return g, nil
}

// forward sends one request to Pebble, inside the gate when its class
// needs it, and reads the whole answer: status, headers and body.
func (g *pebbleGate) forward(client *http.Client, target string, in *http.Request, body []byte) (int, http.Header, []byte, error) {
	out, err := http.NewRequestWithContext(in.Context(), in.Method, "https://"+target+in.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	out.Header = in.Header.Clone()
	out.Host = in.Host
	if c := gateClass(in); c >= 0 {
		g.enter(c)
		defer g.exit(c)
	}
	resp, err := client.Do(out)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data, err
}

// Addr is the gate's host:port.
func (g *pebbleGate) Addr() string { return g.lis.Addr().String() }

// enter waits until no request of the other class runs, and no request of
// the other class waits for its turn, then lets the request in.
func (g *pebbleGate) enter(c int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	o := 1 - c
	g.waiting[c]++
	for g.active[o] > 0 || (g.waiting[o] > 0 && g.turn == o) {
		g.cond.Wait()
	}
	g.waiting[c]--
	g.active[c]++
}

// exit lets the request out; the last one out gives the turn to the other
// class if it waits.
func (g *pebbleGate) exit(c int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.active[c]--
	if g.active[c] == 0 {
		if g.waiting[1-c] > 0 {
			g.turn = 1 - c
		}
		g.cond.Broadcast()
	}
}

// close stops the gate.
func (g *pebbleGate) close() { _ = g.srv.Close() }
