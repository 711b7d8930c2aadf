package security

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecert/edgecert/internal/testenv"
)

// Item 7: anyone who reaches the HTTP-01 listener may connect to it (the
// CA must), so a client must not be able to hold it: connections that send
// nothing, or headers a byte at a time, are closed; huge headers are
// refused; no more than --http01-max-connections are served at once, and
// the listener keeps answering lookups through all of it.

// unknownTokenPath is a challenge lookup no order holds: the listener's
// liveness answer is 404.
const unknownTokenPath = "/.well-known/acme-challenge/no-order-holds-this-token"

// http01Listener runs `edgecert controller` with its HTTP-01 listener on a
// free loopback port and extra flags, and returns the listener's address
// once it answers a lookup.
func http01Listener(t *testing.T, extra ...string) string {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startController(t, namespace(t, "http01"), append([]string{"--http01-bind-address", addr}, extra...)...)
	answersLookups(t, addr)
	return addr
}

// answersLookups waits until the listener answers an unknown token with
// 404 on a fresh connection, as a CA's lookup comes.
func answersLookups(t *testing.T, addr string) {
	t.Helper()
	testenv.Eventually(t, "the HTTP-01 listener answers 404 for an unknown token", func() (bool, string) {
		code, err := lookup(addr)
		if err != nil {
			return false, err.Error()
		}
		return code == http.StatusNotFound, "status " + strconv.Itoa(code)
	})
}

// lookup sends one challenge lookup for an unknown token and returns the
// status code.
func lookup(addr string) (int, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return 0, err
	}
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", unknownTokenPath, host("web")); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// closedByServer waits (bounded by testenv.DefaultBound, a guard against a
// hang) until the server closes conn, and fails the test when the bound
// passed first or the server served the request: all it may send first is
// an error status (Go's server answers 400 to headers cut off by its
// timeout, and closes silently when nothing came).
func closedByServer(t *testing.T, conn net.Conn, what string) {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(testenv.DefaultBound)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Errorf("%s: the connection was still open after %s", what, testenv.DefaultBound)
	case err != nil && !isReset(err):
		t.Errorf("%s: read: %v, want the server to close the connection", what, err)
	case len(got) > 0 && !strings.HasPrefix(string(got), "HTTP/1.1 4"):
		t.Errorf("%s: the server sent %q before closing, want nothing or an error status", what, got)
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset by peer")
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// A connection that sends nothing, one that sends its headers a byte at a
// time and never finishes, and a kept-alive connection that sends no next
// request are all closed by the listener; it answers lookups throughout.
func TestHTTP01ListenerClosesConnectionsThatHoldIt(t *testing.T) {
	addr := http01Listener(t)

	silent := dial(t, addr)

	dribbling := dial(t, addr)
	if _, err := fmt.Fprintf(dribbling, "GET %s HTTP/1.1\r\nHost: %s\r\n", unknownTokenPath, host("web")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		// One header byte every 100 ms, forever: the request never ends,
		// and the connection is never quiet.
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := dribbling.Write([]byte("X")); err != nil {
					return
				}
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	idle := dial(t, addr)
	if _, err := fmt.Fprintf(idle, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", unknownTokenPath, host("web")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Close {
		t.Fatalf("kept-alive lookup: status %d, close %v; want 404 on a connection kept open", resp.StatusCode, resp.Close)
	}

	closedByServer(t, silent, "a connection that sends nothing")
	closedByServer(t, dribbling, "a connection that sends its headers a byte at a time")
	closedByServer(t, idle, "a kept-alive connection with no next request")
	answersLookups(t, addr)
}

// A request whose headers are far larger than any CA's is refused with 431
// without being served; one of ordinary size is answered.
func TestHTTP01ListenerRefusesOversizedHeaders(t *testing.T) {
	addr := http01Listener(t)
	status := func(headerBytes int) int {
		t.Helper()
		conn := dial(t, addr)
		req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nX-Padding: %s\r\nConnection: close\r\n\r\n", unknownTokenPath, host("web"), strings.Repeat("a", headerBytes))
		go func() { _, _ = io.WriteString(conn, req) }() // the server may stop reading
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%d-byte header: %v", headerBytes, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(1 << 10); got != http.StatusNotFound {
		t.Errorf("a 1 KiB header: status %d, want 404 (answered)", got)
	}
	if got := status(32 << 10); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 32 KiB header: status %d, want 431", got)
	}
	answersLookups(t, addr)
}

// With --http01-max-connections=4 and four connections held open, a fifth
// is not taken from the kernel's accept queue (it waits there, where the
// kernel shows it), and is answered as soon as one of the four closes.
func TestHTTP01ListenerServesAtMostMaxConnections(t *testing.T) {
	const maxConns = 4
	addr := http01Listener(t, "--http01-max-connections", strconv.Itoa(maxConns))
	_, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)

	// Each holder asks again every 200 ms on its kept-alive connection,
	// so that no timeout of the listener frees its slot.
	type holder struct {
		conn net.Conn
		stop chan struct{}
		done chan struct{}
	}
	var holders []*holder
	var answered atomic.Int64 // answers the holders received
	for range maxConns {
		h := &holder{conn: dial(t, addr), stop: make(chan struct{}), done: make(chan struct{})}
		served := make(chan error, 1)
		go func() {
			defer close(h.done)
			r := bufio.NewReader(h.conn)
			first := true
			for {
				_, err := fmt.Fprintf(h.conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", unknownTokenPath, host("web"))
				var resp *http.Response
				if err == nil {
					resp, err = http.ReadResponse(r, nil)
				}
				if err == nil {
					resp.Body.Close()
					answered.Add(1)
				}
				if first {
					served <- err
					first = false
				}
				if err != nil {
					return
				}
				select {
				case <-h.stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
		if err := <-served; err != nil {
			t.Fatalf("holder %d: %v", len(holders), err)
		}
		holders = append(holders, h)
	}
	defer func() {
		for _, h := range holders {
			select {
			case <-h.stop:
			default:
				close(h.stop)
			}
			h.conn.Close()
			<-h.done
		}
	}()

	extra := dial(t, addr)
	if _, err := fmt.Fprintf(extra, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", unknownTokenPath, host("web")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the fifth connection waits in the listener's accept queue", func() (bool, string) {
		n, err := acceptQueue(port)
		if err != nil {
			return false, err.Error()
		}
		return n == 1, fmt.Sprintf("%d connections in the accept queue", n)
	})
	// Not a moment's lag of the accept loop: it stays queued while the
	// listener answers every holder twice more.
	mark := answered.Load()
	testenv.Eventually(t, "the holders are answered twice more", func() (bool, string) {
		n := answered.Load() - mark
		return n >= 2*maxConns, fmt.Sprintf("%d answers", n)
	})
	if n, err := acceptQueue(port); err != nil || n != 1 {
		t.Fatalf("accept queue while the holders were served: %d (%v), want the fifth connection still waiting", n, err)
	}

	close(holders[0].stop)
	<-holders[0].done
	holders[0].conn.Close()
	if err := extra.SetReadDeadline(time.Now().Add(testenv.DefaultBound)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(extra), nil)
	if err != nil {
		t.Fatalf("the fifth connection, once a slot was free: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the fifth connection, once a slot was free: status %d, want 404", resp.StatusCode)
	}
	if n, err := acceptQueue(port); err != nil || n != 0 {
		t.Errorf("accept queue after the fifth was served: %d (%v), want 0", n, err)
	}
	answersLookups(t, addr)
}

// acceptQueue is how many connections wait to be accepted on the IPv4
// listening socket of port, as the kernel reports it (/proc/net/tcp: for
// a socket in LISTEN, rx_queue is the accept queue's length).
func acceptQueue(port int) (int, error) {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 || f[1] != local || f[3] != "0A" {
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		n, err := strconv.ParseInt(rx, 16, 64)
		return int(n), err
	}
	return 0, fmt.Errorf("no listening socket on 127.0.0.1:%d in /proc/net/tcp", port)
}
