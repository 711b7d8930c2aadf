package testenv_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgecert/edgecert/internal/testenv"
)

// isTimeout tells a request that hung until the client gave up from one
// that failed fast, such as a refused connection.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, syscall.ECONNREFUSED)
}

func TestProxyBlackHolesPebbleAndResumes(t *testing.T) {
	u, err := url.Parse(bed.Pebble.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := testenv.StartProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	dirURL := "https://" + proxy.Addr + "/dir"
	hc := bed.Pebble.HTTPClient()
	hc.Timeout = 500 * time.Millisecond

	// Through the proxy, Pebble's URLs stay on the proxy.
	resp, err := hc.Get(dirURL)
	if err != nil {
		t.Fatal(err)
	}
	var dir struct{ NewNonce string }
	err = json.NewDecoder(resp.Body).Decode(&dir)
	resp.Body.Close()
	if err != nil || !strings.HasPrefix(dir.NewNonce, "https://"+proxy.Addr+"/") {
		t.Fatalf("directory through the proxy: newNonce %q (%v), want a URL on %s", dir.NewNonce, err, proxy.Addr)
	}

	proxy.SetBlackHole(true)
	// The kept-alive connection from the first GET goes silent...
	if resp, err := hc.Get(dirURL); !isTimeout(err) {
		closeBody(resp)
		t.Fatalf("GET on a kept-alive connection in the black hole: err = %v, want a timeout", err)
	}
	// ...and so does a new one.
	fresh := bed.Pebble.HTTPClient()
	fresh.Timeout = 500 * time.Millisecond
	if resp, err := fresh.Get(dirURL); !isTimeout(err) {
		closeBody(resp)
		t.Fatalf("GET on a new connection in the black hole: err = %v, want a timeout", err)
	}
	if n := proxy.Stalled(); n != 2 {
		t.Fatalf("Stalled = %d, want the 2 connections that timed out", n)
	}

	// A request that is held goes through once the black hole is off.
	patient := bed.Pebble.HTTPClient()
	done := make(chan error, 1)
	go func() {
		resp, err := patient.Get(dirURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = errors.New(resp.Status)
			}
		}
		done <- err
	}()
	testenv.Eventually(t, "a third stalled connection", func() (bool, string) {
		n := proxy.Stalled()
		return n == 3, fmt.Sprint("stalled ", n)
	})
	select {
	case err := <-done:
		t.Fatalf("GET returned (%v) in the black hole", err)
	case <-time.After(300 * time.Millisecond):
	}
	proxy.SetBlackHole(false)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("held GET after the black hole: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held GET still hangs after the black hole went off")
	}
	if resp, err := hc.Get(dirURL); err != nil {
		t.Fatalf("GET after the black hole: %v", err)
	} else {
		resp.Body.Close()
	}
	testenv.Eventually(t, "no stalled connection", func() (bool, string) {
		return proxy.Stalled() == 0, ""
	})

	// What a refused connection looks like, for contrast.
	proxy.Close()
	if resp, err := hc.Get(dirURL); err == nil || isTimeout(err) || !errors.Is(err, syscall.ECONNREFUSED) {
		closeBody(resp)
		t.Fatalf("GET on a closed proxy: err = %v, want connection refused", err)
	}
}

// closeBody closes the body of a response a test did not expect.
func closeBody(resp *http.Response) {
	if resp != nil {
		resp.Body.Close()
	}
}

func TestBlackHoleAcceptsAndNeverAnswers(t *testing.T) {
	bh, err := testenv.StartBlackHole()
	if err != nil {
		t.Fatal(err)
	}
	defer bh.Close()
	hc := &http.Client{Timeout: 300 * time.Millisecond}
	if resp, err := hc.Get("http://" + bh.Addr + "/2013-04-01/hostedzonesbyname"); !isTimeout(err) {
		closeBody(resp)
		t.Fatalf("GET on the black hole: err = %v, want a timeout", err)
	}
	conn, err := net.Dial("tcp", bh.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := conn.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("read from the black hole: err = %v, want a timeout (no answer, no close)", err)
	}
	testenv.Eventually(t, "2 accepted connections, the one the HTTP client gave up on closed", func() (bool, string) {
		n, open := bh.Accepted(), bh.Open()
		return n == 2 && open == 1, fmt.Sprint("accepted ", n, " open ", open)
	})
	conn.Close()
	testenv.Eventually(t, "no open connection once the client hung up", func() (bool, string) {
		return bh.Open() == 0, fmt.Sprint("open ", bh.Open())
	})

	bh.Close()
	if _, err := net.Dial("tcp", bh.Addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after Close: err = %v, want connection refused", err)
	}
}
