package certificate

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The self-check's verdict on what a listener answers, fetched over real
// loopback connections: only the key authorization (white space around it
// aside) passes, and a failure says what came back.
func TestHTTP01SelfCheckComparesTheAnswerWithTheKeyAuthorization(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/acme-challenge/right":
			_, _ = fmt.Fprint(w, "right.thumbprint\n")
		case "/.well-known/acme-challenge/wrong":
			_, _ = fmt.Fprint(w, "someone-else.thumbprint")
		case "/.well-known/acme-challenge/redirect":
			http.Redirect(w, r, "/.well-known/acme-challenge/right", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}), ReadHeaderTimeout: DefaultHTTP01ReadHeaderTimeout}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	tests := map[string]struct {
		port           int
		token, keyAuth string
		want           string // the error, "" for none
	}{
		"the key authorization, with a trailing newline": {port: port, token: "right", keyAuth: "right.thumbprint"},
		"another answer":           {port: port, token: "wrong", keyAuth: "wrong.thumbprint", want: "the answer is not the challenge's key authorization"},
		"not found":                {port: port, token: "missing", keyAuth: "missing.thumbprint", want: "the answer is 404 Not Found"},
		"redirected to the answer": {port: port, token: "redirect", keyAuth: "right.thumbprint"},
		"nothing listening":        {port: closedPort, token: "right", keyAuth: "right.thumbprint", want: "dial tcp 127.0.0.1:" + strconv.Itoa(closedPort) + ": connect: connection refused"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := &HTTP01SelfCheck{Port: tc.port}
			got := ""
			if err := c.Check(context.Background(), "127.0.0.1", tc.token, tc.keyAuth); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTP01SelfCheckURL(t *testing.T) {
	got := map[int]string{}
	for _, port := range []int{0, 80, 5002} {
		got[port] = (&HTTP01SelfCheck{Port: port}).URL("shop.example.com", "tok")
	}
	want := map[int]string{
		0:    "http://shop.example.com/.well-known/acme-challenge/tok",
		80:   "http://shop.example.com/.well-known/acme-challenge/tok",
		5002: "http://shop.example.com:5002/.well-known/acme-challenge/tok",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("URL (-want +got):\n%s", diff)
	}
}
