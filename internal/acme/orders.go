package acme

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	acmez "github.com/mholt/acmez/v3/acme"
)

// Bounds on reading an account's order list: the list can hold every order
// the account ever made, and the orders a crashed controller left behind
// are among the newest.
const (
	maxOrderListPages = 500
	maxOrdersRead     = 200
)

// UnfinishedOrders returns the account's orders that the CA lists and that
// are still pending or ready, newest last: the orders a controller that
// crashed between creating an order and recording it may have left. It
// reads the account's order list (RFC 8555, section 7.1.2.1) and then the
// newest orders in it, at most maxOrdersRead. A CA that keeps no list (Let's
// Encrypt: it hands back the pending order for the same names instead of
// making another) gives none.
func (c *Client) UnfinishedOrders(ctx context.Context, acct Account) ([]Order, error) {
	urls, err := c.orderURLs(ctx, acct)
	if err != nil || len(urls) == 0 {
		return nil, err
	}
	if len(urls) > maxOrdersRead {
		urls = urls[len(urls)-maxOrdersRead:]
	}
	var out []Order
	for _, u := range urls {
		o, err := c.GetOrder(ctx, acct, u)
		if err != nil {
			return nil, err
		}
		if o.Status == "pending" || o.Status == "ready" {
			o.URL = u
			out = append(out, o)
		}
	}
	return out, nil
}

// orderURLs walks the account's order list, page by page.
func (c *Client) orderURLs(ctx context.Context, acct Account) ([]string, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	account, err := c.acme.GetAccount(ctx, acmez.Account{PrivateKey: acct.Key})
	if err = c.record("account", err); err != nil {
		return nil, err
	}
	var urls []string
	for next, pages := account.Orders, 0; next != "" && pages < maxOrderListPages; pages++ {
		var page struct {
			Orders []string `json:"orders"`
		}
		body, header, err := c.postAsGet(ctx, acct, next, "application/json")
		if err = c.record("orders", err); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("order list %s: %w", next, err)
		}
		urls = append(urls, page.Orders...)
		next = nextLink(header)
	}
	return slices.Compact(urls), nil
}

// badNonceRetries bounds postAsGet's retries of a rejected nonce.
const badNonceRetries = 4

// postAsGet sends a POST-as-GET (RFC 8555, section 6.3) signed with the
// account key and returns the answer's body and headers. The ACME library
// has no such call for URLs it does not know (the order list), and its
// chain download does more than download, so this one signs with go-jose.
// A badNonce is retried with a fresh nonce, up to badNonceRetries times
// (CAs reject some nonces on purpose: Pebble 5 % of them).
func (c *Client) postAsGet(ctx context.Context, acct Account, url, accept string) ([]byte, http.Header, error) {
	dir, err := c.acme.GetDirectory(ctx)
	if err != nil {
		return nil, nil, err
	}
	for attempt := 0; ; attempt++ {
		body, err := c.signEmpty(ctx, acct, dir.NewNonce, url)
		if err != nil {
			return nil, nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Content-Type", "application/jose+json")
		req.Header.Set("Accept", accept)
		req.Header.Set("User-Agent", "edgecert")
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, nil, err
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode >= 300 {
			var p acmez.Problem
			if json.Unmarshal(data, &p) != nil || p.Type == "" {
				return nil, nil, fmt.Errorf("POST-as-GET %s: HTTP %d", url, resp.StatusCode)
			}
			p.Status = resp.StatusCode
			if p.Type == acmez.ProblemTypeBadNonce && attempt < badNonceRetries {
				continue
			}
			return nil, nil, p
		}
		return data, resp.Header, nil
	}
}

// signEmpty makes the JWS of an empty payload for url, with the account's
// URL as key id and a fresh nonce.
func (c *Client) signEmpty(ctx context.Context, acct Account, newNonceURL, url string) ([]byte, error) {
	alg, err := signatureAlgorithm(acct.Key)
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: acct.Key}, &jose.SignerOptions{
		NonceSource:  nonceSource{ctx: ctx, client: c.http, url: newNonceURL},
		ExtraHeaders: map[jose.HeaderKey]any{"kid": acct.URL, "url": url},
	})
	if err != nil {
		return nil, err
	}
	jws, err := signer.Sign(nil)
	if err != nil {
		return nil, err
	}
	// go-jose leaves an empty payload out of the JSON form, and ACME wants
	// it there, empty: rebuild the flattened form from the compact one.
	compact, err := jws.CompactSerialize()
	if err != nil {
		return nil, err
	}
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		return nil, errors.New("sign: unexpected JWS form")
	}
	return json.Marshal(map[string]string{"protected": parts[0], "payload": "", "signature": parts[2]})
}

func signatureAlgorithm(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		return jose.RS256, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		}
	}
	return "", errors.New("account key: only RSA, P-256 and P-384 keys are supported")
}

// nonceSource asks the CA's newNonce endpoint for one nonce per signature.
type nonceSource struct {
	ctx    context.Context
	client *http.Client
	url    string
}

func (n nonceSource) Nonce() (string, error) {
	req, err := http.NewRequestWithContext(n.ctx, http.MethodHead, n.url, nil)
	if err != nil {
		return "", err
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	nonce := resp.Header.Get("Replay-Nonce")
	if nonce == "" {
		return "", errors.New("the CA sent no Replay-Nonce")
	}
	return nonce, nil
}

// nextLink finds the URL of a Link header with rel="next".
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, l := range strings.Split(v, ",") {
			url, params, ok := strings.Cut(l, ";")
			if ok && strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
				return strings.Trim(strings.TrimSpace(url), "<>")
			}
		}
	}
	return ""
}
