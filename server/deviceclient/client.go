// Package deviceclient is Gatehouse's reference CLI client: it runs the
// RFC 8628 flow against a server, keeps the token in a 0600 file under the
// user's config directory, and calls /v1/me and self-revocation with it.
//
// It imports no other project package: it speaks only the wire contract, as
// any third-party CLI would.
package deviceclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Client talks to one Gatehouse.
type Client struct {
	Server   string // base URL
	ClientID string
	HTTP     *http.Client
	Out      io.Writer // where instructions for the person go
	Sleep    func(ctx context.Context, d time.Duration) error
	// OnStart, when set, is called once the code and URLs are printed and
	// before the "Waiting" line (the CLI draws a QR code of the complete URI
	// there).
	OnStart func(DeviceAuth)
}

// ParseServer checks a --server value and returns it without a trailing
// slash: an absolute http(s) URL, so a bare host:port is named as the
// mistake rather than failing later as a URL parse error.
func ParseServer(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		hint := ""
		if !strings.Contains(raw, "://") && raw != "" {
			hint = fmt.Sprintf(" (did you mean http://%s?)", raw)
		}
		return "", fmt.Errorf("--server must be a URL such as http://127.0.0.1:8080, not %q%s", raw, hint)
	}
	return strings.TrimRight(raw, "/"), nil
}

// ErrUnreachable means no HTTP answer came at all: nothing listening, an
// unknown host, a timeout, a TLS failure.
var ErrUnreachable = errors.New("cannot reach Gatehouse")

type unreachableError struct {
	server string
	err    error
}

func (e *unreachableError) Error() string {
	why, hint := describeNetError(e.err)
	return fmt.Sprintf("cannot reach Gatehouse at %s (%s)%s", e.server, why, hint)
}

func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

// describeNetError names the cause of a transport failure in a few words,
// with a hint where one helps.
func describeNetError(err error) (why, hint string) {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", ": is it running?"
	case errors.As(err, &dns):
		return "unknown host " + dns.Name, ": check --server"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out", ": is it running, and is --server right?"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return err.Error(), ""
}

// DeviceAuth is the answer to the start of a flow.
type DeviceAuth struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// Token is a successful poll's answer (the fields the CLI keeps).
type Token struct {
	AccessToken  string `json:"access_token"`
	TokenID      string `json:"token_id"`
	ExpiresAt    string `json:"expires_at"`
	SubjectType  string `json:"subject_type"`
	SubjectEmail string `json:"subject_email"`
	Scope        string `json:"scope"`
}

// OAuthError is an error answer from the server.
type OAuthError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
	Interval    int    `json:"interval"`
}

func (e *OAuthError) Error() string {
	if e.Description != "" {
		return e.Code + ": " + e.Description
	}
	return e.Code
}

func (c *Client) httpc() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 60 * time.Second}
}

// Start asks for a device code.
func (c *Client) Start(ctx context.Context, label string) (DeviceAuth, error) {
	var da DeviceAuth
	form := url.Values{"client_id": {c.ClientID}}
	if label != "" {
		form.Set("device_label", label)
	}
	err := c.postForm(ctx, "/v1/oauth/device/code", form, &da)
	return da, err
}

// Poll polls until the code is approved, denied or expired, honouring the
// interval and slow_down (RFC 8628 §3.5).
func (c *Client) Poll(ctx context.Context, da DeviceAuth) (Token, error) {
	interval := time.Duration(max(da.Interval, 1)) * time.Second
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {da.DeviceCode}, "client_id": {c.ClientID}}
	for {
		if err := c.sleep(ctx, interval); err != nil {
			return Token{}, err
		}
		var tok Token
		err := c.postForm(ctx, "/v1/oauth/device/token", form, &tok)
		var oe *OAuthError
		switch {
		case err == nil:
			return tok, nil
		case errors.As(err, &oe) && oe.Code == "authorization_pending":
		case errors.As(err, &oe) && oe.Code == "slow_down":
			interval = max(interval+5*time.Second, time.Duration(oe.Interval)*time.Second)
		default:
			return Token{}, err
		}
	}
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Login runs the whole flow, printing the code and URL for the person.
func (c *Client) Login(ctx context.Context, label string) (Token, error) {
	da, err := c.Start(ctx, label)
	if err != nil {
		return Token{}, err
	}
	fmt.Fprintf(c.Out, "! First copy your one-time code: %s\n", da.UserCode)
	fmt.Fprintf(c.Out, "Open %s in a browser and enter it,\nor go straight to %s\n", da.VerificationURI, da.VerificationURIComplete)
	if c.OnStart != nil {
		c.OnStart(da)
	}
	fmt.Fprintf(c.Out, "Waiting for approval (the code expires in %s)...\n", inWords(da.ExpiresIn))
	return c.Poll(ctx, da)
}

// inWords says a lifetime in seconds the way a person would: "15 minutes",
// "1 minute", "45 seconds".
func inWords(seconds int) string {
	n, unit := seconds, "second"
	if seconds >= 60 {
		n, unit = (seconds+30)/60, "minute"
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// Me calls /v1/me with a token and returns the decoded body.
func (c *Client) Me(ctx context.Context, token string) (map[string]any, error) {
	var out map[string]any
	err := c.bearer(ctx, "GET", "/v1/me", token, &out)
	return out, err
}

// RevokeSelf revokes the token it is called with.
func (c *Client) RevokeSelf(ctx context.Context, token string) error {
	return c.bearer(ctx, "DELETE", "/v1/oauth/authorizations/self", token, nil)
}

func (c *Client) postForm(ctx context.Context, path string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, "POST", c.Server+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return c.do(req, out)
}

func (c *Client) bearer(ctx context.Context, method, path, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.Server+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return c.do(req, out)
}

func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.httpc().Do(req)
	if err != nil {
		if cerr := req.Context().Err(); cerr != nil {
			return cerr
		}
		return &unreachableError{server: c.Server, err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		oe := &OAuthError{Status: resp.StatusCode}
		if json.Unmarshal(raw, oe) != nil || oe.Code == "" {
			oe.Code = fmt.Sprintf("http_%d", resp.StatusCode)
		}
		return oe
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}
