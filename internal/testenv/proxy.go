package testenv

import (
	"io"
	"net"
	"sync"
)

// Proxy is a TCP proxy in front of a server of the test bed that a test can
// switch into a black hole, to see what a client does when the server stops
// answering mid-test (a partition, not a crash: connections stay open and
// nothing is refused). Point the client at Addr instead of the server.
//
// Behind it, Pebble stays reachable only through the proxy: Pebble builds
// absolute URLs from the request's Host, so the directory and every URL it
// hands out name Addr. Its TLS certificate is for 127.0.0.1, so it verifies.
type Proxy struct {
	// Addr is the proxy's 127.0.0.1:port.
	Addr string

	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu        sync.Mutex
	resume    *sync.Cond // broadcast when blackHole goes off or the proxy closes
	blackHole bool
	closed    bool
	conns     map[*proxyConn]struct{}
	stalled   int
}

// proxyConn is one client connection and its upstream; fields are guarded
// by Proxy.mu.
type proxyConn struct {
	client, upstream net.Conn
	held             int // goroutines holding something back for it
	done             bool
}

// StartProxy listens on a free 127.0.0.1 port and forwards every connection
// to target (host:port). Close it when done.
func StartProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[*proxyConn]struct{}{}}
	p.resume = sync.NewCond(&p.mu)
	p.wg.Go(p.accept)
	return p, nil
}

// SetBlackHole turns the black hole on or off. While on, nothing is
// forwarded in either direction on any connection, existing ones included
// (HTTP clients reuse kept-alive connections), and neither side's close is
// passed on; new connections are accepted but get no answer. Bytes read
// meanwhile are held, not dropped: when it goes off, they are forwarded and
// every connection carries on.
func (p *Proxy) SetBlackHole(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackHole = on
	if !on {
		p.resume.Broadcast()
	}
}

// Stalled is how many connections the black hole holds silent right now:
// those with something to pass on (a new connection to open, bytes, or a
// close) that the proxy is holding back. Idle connections do not count.
// A test polls it to know that a client's request is stuck.
func (p *Proxy) Stalled() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stalled
}

// Close stops listening and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.resume.Broadcast()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		p.end(c)
	}
	p.wg.Wait()
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		c := &proxyConn{client: client}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			client.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.serve(c) })
	}
}

// serve connects c to the target once the black hole lets it, then copies
// both ways until either side ends.
func (p *Proxy) serve(c *proxyConn) {
	if !p.hold(c) {
		p.end(c)
		return
	}
	upstream, err := net.Dial("tcp", p.target)
	if err != nil {
		p.end(c)
		return
	}
	p.mu.Lock()
	c.upstream = upstream
	done := c.done
	p.mu.Unlock()
	if done { // closed while dialling
		upstream.Close()
		return
	}
	p.wg.Go(func() { p.pipe(c, upstream, c.client) })
	p.pipe(c, c.client, upstream)
}

// pipe copies src to dst, holding each chunk, and the end of src, while the
// black hole is on.
func (p *Proxy) pipe(c *proxyConn, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if !p.hold(c) {
			break
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	p.end(c)
}

// hold waits while the black hole is on, counting c as stalled meanwhile.
// It reports whether c may go on: false once c or the proxy is closed.
func (p *Proxy) hold(c *proxyConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blackHole && !p.closed && !c.done {
		if c.held++; c.held == 1 {
			p.stalled++
		}
		for p.blackHole && !p.closed {
			p.resume.Wait()
		}
		if c.held--; c.held == 0 {
			p.stalled--
		}
	}
	return !p.closed && !c.done
}

// end closes both sides of c, once.
func (p *Proxy) end(c *proxyConn) {
	p.mu.Lock()
	if c.done {
		p.mu.Unlock()
		return
	}
	c.done = true
	delete(p.conns, c)
	upstream := c.upstream
	p.mu.Unlock()
	c.client.Close()
	if upstream != nil {
		upstream.Close()
	}
}

// BlackHole is a TCP listener that accepts connections and never answers
// nor closes them, standing for a server that is unreachable in the worst
// way (e.g. a Route 53 endpoint behind a dropped route): connecting works,
// then every request hangs until the client's own timeout.
type BlackHole struct {
	// Addr is the listener's 127.0.0.1:port.
	Addr string

	ln       net.Listener
	mu       sync.Mutex
	conns    []net.Conn
	accepted int
	open     int
	done     chan struct{}
}

// StartBlackHole listens on a free 127.0.0.1 port. Close it when done.
func StartBlackHole() (*BlackHole, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &BlackHole{Addr: ln.Addr().String(), ln: ln, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.accepted++
			b.open++
			b.mu.Unlock()
			// Read and drop what the client sends, only to see it hang up.
			go func() {
				_, _ = io.Copy(io.Discard, c)
				b.mu.Lock()
				b.open--
				b.mu.Unlock()
			}()
		}
	}()
	return b, nil
}

// Open is how many of the connections it took the clients have not closed:
// requests still waiting for an answer.
func (b *BlackHole) Open() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

// Accepted is how many connections the black hole has taken so far.
func (b *BlackHole) Accepted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.accepted
}

// Close stops listening and closes the connections it holds.
func (b *BlackHole) Close() {
	b.ln.Close()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}
