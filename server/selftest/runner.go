package selftest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// deviceGrant is the RFC 8628 grant type URN.
const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// runner carries what earlier checks learned to later ones.
type runner struct {
	opt  Options
	http *http.Client
	meta map[string]any // the metadata document, once fetched
	flow map[string]any // a device authorization answer, once had

	approval  *approval // the approver's session, once signed in
	signInErr error     // why signing in failed, so it is tried once
}

func newRunner(opt Options) *runner {
	c := opt.HTTP
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	opt.BaseURL = normalizeBase(opt.BaseURL)
	return &runner{opt: opt, http: c}
}

// answer is one HTTP response, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any // nil unless the body is a JSON object
}

func (a answer) str(key string) string {
	s, _ := a.json[key].(string)
	return s
}

// errorCode is the OAuth "error" member, or a description of what came
// instead.
func (a answer) errorCode() string {
	if a.json == nil {
		return fmt.Sprintf("(no JSON body; status %d)", a.status)
	}
	return a.str("error")
}

func (rn *runner) do(ctx context.Context, method, target string, body io.Reader, hdr http.Header) (answer, error) {
	return rn.doOn(ctx, rn.http, method, target, body, hdr)
}

// doWith sends a string body with another client (the approver's, which
// keeps the session cookie).
func (rn *runner) doWith(ctx context.Context, c *http.Client, method, target, body string, hdr http.Header) (answer, error) {
	return rn.doOn(ctx, c, method, target, strings.NewReader(body), hdr)
}

func (rn *runner) doOn(ctx context.Context, c *http.Client, method, target string, body io.Reader, hdr http.Header) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return answer{}, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		json.Unmarshal(raw, &a.json)
	}
	return a, nil
}

func (rn *runner) get(ctx context.Context, target string, hdr http.Header) (answer, error) {
	return rn.do(ctx, "GET", target, nil, hdr)
}

// postForm posts a raw form body, so checks can send what url.Values
// cannot (a repeated parameter in a chosen order).
func (rn *runner) postForm(ctx context.Context, target, form string, hdr http.Header) (answer, error) {
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for k, v := range hdr {
		h[k] = v
	}
	return rn.do(ctx, "POST", target, strings.NewReader(form), h)
}

var errNoMetadata = errors.New("no metadata (the metadata check failed)")

// endpoint is a URL from the metadata document.
func (rn *runner) endpoint(name string) (string, error) {
	if rn.meta == nil {
		return "", errNoMetadata
	}
	u, _ := rn.meta[name].(string)
	if u == "" {
		return "", fmt.Errorf("metadata has no %s", name)
	}
	return u, nil
}

// startFlow asks for a fresh device code.
func (rn *runner) startFlow(ctx context.Context) (answer, error) {
	ep, err := rn.endpoint("device_authorization_endpoint")
	if err != nil {
		return answer{}, err
	}
	return rn.postForm(ctx, ep, url.Values{"client_id": {rn.opt.ClientID}}.Encode(), nil)
}

// poll polls the token endpoint once for deviceCode.
func (rn *runner) poll(ctx context.Context, deviceCode string) (answer, error) {
	ep, err := rn.endpoint("token_endpoint")
	if err != nil {
		return answer{}, err
	}
	form := url.Values{"grant_type": {deviceGrant}, "device_code": {deviceCode}, "client_id": {rn.opt.ClientID}}
	return rn.postForm(ctx, ep, form.Encode(), nil)
}

// wantError checks an OAuth error answer: status and code.
func wantError(a answer, status int, code string) error {
	if a.status != status || a.errorCode() != code {
		return fmt.Errorf("got %d %q, want %d %q", a.status, a.errorCode(), status, code)
	}
	return nil
}
