package selftest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

func checkMetadata(ctx context.Context, rn *runner) error {
	a, err := rn.get(ctx, rn.opt.BaseURL+"/.well-known/oauth-authorization-server", nil)
	if err != nil {
		return err
	}
	if a.status != http.StatusOK || a.json == nil {
		return fmt.Errorf("got status %d, content type %q; want 200 JSON", a.status, a.header.Get("Content-Type"))
	}
	if iss := a.str("issuer"); iss != rn.opt.BaseURL {
		return fmt.Errorf("issuer %q is not the URL it was fetched from, %q", iss, rn.opt.BaseURL)
	}
	rn.meta = a.json
	return nil
}

func checkMetadataFields(_ context.Context, rn *runner) error {
	if rn.meta == nil {
		return errNoMetadata
	}
	var problems []string
	for _, k := range []string{"device_authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint"} {
		if s, _ := rn.meta[k].(string); s == "" {
			problems = append(problems, k+" missing")
		}
	}
	if !slices.Contains(stringList(rn.meta["grant_types_supported"]), deviceGrant) {
		problems = append(problems, "grant_types_supported lacks the device_code grant")
	}
	if _, ok := rn.meta["response_types_supported"].([]any); !ok {
		problems = append(problems, "response_types_supported is not an array")
	}
	if len(stringList(rn.meta["scopes_supported"])) == 0 {
		problems = append(problems, "scopes_supported is empty")
	}
	if !slices.Contains(stringList(rn.meta["token_endpoint_auth_methods_supported"]), "none") {
		problems = append(problems, `token_endpoint_auth_methods_supported lacks "none" (public device clients)`)
	}
	if _, err := url.ParseRequestURI(str(rn.meta["service_documentation"])); err != nil {
		problems = append(problems, "service_documentation is not a URL")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func checkEndpointsUnderIssuer(_ context.Context, rn *runner) error {
	if rn.meta == nil {
		return errNoMetadata
	}
	iss, err := url.Parse(rn.opt.BaseURL)
	if err != nil {
		return err
	}
	for _, k := range []string{"device_authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint"} {
		u, err := url.Parse(str(rn.meta[k]))
		if err != nil || u.Scheme != iss.Scheme || u.Host != iss.Host {
			return fmt.Errorf("%s %q is not on the issuer's origin %s://%s", k, rn.meta[k], iss.Scheme, iss.Host)
		}
	}
	return nil
}

func checkDeviceCodeShape(ctx context.Context, rn *runner) error {
	a, err := rn.startFlow(ctx)
	if err != nil {
		return err
	}
	if a.status != http.StatusOK || a.json == nil {
		return fmt.Errorf("got %d %q, want 200 JSON", a.status, a.errorCode())
	}
	for _, k := range []string{"device_code", "user_code", "verification_uri"} {
		if a.str(k) == "" {
			return fmt.Errorf("%s missing", k)
		}
	}
	if exp, _ := a.json["expires_in"].(float64); exp <= 0 {
		return fmt.Errorf("expires_in %v, want a positive number", a.json["expires_in"])
	}
	if iv, ok := a.json["interval"].(float64); ok && iv < 1 {
		return fmt.Errorf("interval %v, want at least 1", iv)
	}
	if c := a.str("verification_uri_complete"); c != "" && !strings.Contains(c, url.QueryEscape(a.str("user_code"))) {
		return fmt.Errorf("verification_uri_complete %q does not carry the user code", c)
	}
	rn.flow = a.json
	return nil
}

func (rn *runner) deviceCode() (string, error) {
	if rn.flow == nil {
		return "", errors.New("no device code (the device authorization check failed)")
	}
	return str(rn.flow["device_code"]), nil
}

func checkFirstPoll(ctx context.Context, rn *runner) error {
	dc, err := rn.deviceCode()
	if err != nil {
		return err
	}
	a, err := rn.poll(ctx, dc)
	if err != nil {
		return err
	}
	return wantError(a, http.StatusBadRequest, "authorization_pending")
}

// checkSlowDown sends a burst of polls at once right after the first poll:
// the server must answer some with slow_down, and successive slow_downs
// must carry growing intervals (each violation adds 5 s). The burst is
// concurrent because a server that holds pending polls (long polling)
// paces a sequential client by itself, so it could never be too fast.
func checkSlowDown(ctx context.Context, rn *runner) error {
	dc, err := rn.deviceCode()
	if err != nil {
		return err
	}
	answers, err := rn.pollBurst(ctx, dc, 4)
	if err != nil {
		return err
	}
	var intervals []float64
	for _, a := range answers {
		switch a.errorCode() {
		case "authorization_pending":
		case "slow_down":
			iv, _ := a.json["interval"].(float64)
			intervals = append(intervals, iv)
		default:
			return fmt.Errorf("rapid poll got %d %q, want slow_down", a.status, a.errorCode())
		}
	}
	slices.Sort(intervals)
	switch {
	case len(intervals) < 2:
		return fmt.Errorf("%d of 4 simultaneous polls were told slow_down, want at least 2", len(intervals))
	case intervals[0] > 0 && intervals[len(intervals)-1] <= intervals[0]:
		return fmt.Errorf("interval did not grow across slow_downs: %v", intervals)
	}
	return nil
}

// pollBurst sends n polls at once and returns every answer.
func (rn *runner) pollBurst(ctx context.Context, dc string, n int) ([]answer, error) {
	type result struct {
		a   answer
		err error
	}
	ch := make(chan result, n)
	for range n {
		go func() {
			a, err := rn.poll(ctx, dc)
			ch <- result{a, err}
		}()
	}
	var out []answer
	for range n {
		r := <-ch
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, r.a)
	}
	return out, nil
}

func checkUnknownCode(ctx context.Context, rn *runner) error {
	a, err := rn.poll(ctx, "selftest-no-such-device-code")
	if err != nil {
		return err
	}
	return wantError(a, http.StatusBadRequest, "invalid_grant")
}

func checkWrongGrantType(ctx context.Context, rn *runner) error {
	ep, err := rn.endpoint("token_endpoint")
	if err != nil {
		return err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {rn.opt.ClientID}}
	a, err := rn.postForm(ctx, ep, form.Encode(), nil)
	if err != nil {
		return err
	}
	return wantError(a, http.StatusBadRequest, "unsupported_grant_type")
}

func checkMissingGrantType(ctx context.Context, rn *runner) error {
	ep, err := rn.endpoint("token_endpoint")
	if err != nil {
		return err
	}
	form := url.Values{"device_code": {"x"}, "client_id": {rn.opt.ClientID}}
	a, err := rn.postForm(ctx, ep, form.Encode(), nil)
	if err != nil {
		return err
	}
	return wantError(a, http.StatusBadRequest, "invalid_request")
}

func checkDuplicateParam(ctx context.Context, rn *runner) error {
	ep, err := rn.endpoint("device_authorization_endpoint")
	if err != nil {
		return err
	}
	id := url.QueryEscape(rn.opt.ClientID)
	a, err := rn.postForm(ctx, ep, "client_id="+id+"&client_id="+id, nil)
	if err != nil {
		return err
	}
	return wantError(a, http.StatusBadRequest, "invalid_request")
}

func checkUnknownClient(ctx context.Context, rn *runner) error {
	ep, err := rn.endpoint("device_authorization_endpoint")
	if err != nil {
		return err
	}
	a, err := rn.postForm(ctx, ep, "client_id=selftest-unregistered-client", nil)
	if err != nil {
		return err
	}
	if a.errorCode() != "invalid_client" || (a.status != http.StatusBadRequest && a.status != http.StatusUnauthorized) {
		return fmt.Errorf("got %d %q, want 400 or 401 invalid_client", a.status, a.errorCode())
	}
	return nil
}

func checkBearerMissing(ctx context.Context, rn *runner) error {
	a, err := rn.get(ctx, rn.opt.BaseURL+"/v1/me", nil)
	if err != nil {
		return err
	}
	ch := a.header.Get("WWW-Authenticate")
	if a.status != http.StatusUnauthorized || !strings.HasPrefix(strings.ToLower(ch), "bearer") {
		return fmt.Errorf("got %d with WWW-Authenticate %q, want 401 Bearer", a.status, ch)
	}
	if strings.Contains(ch, "error=") {
		return fmt.Errorf("WWW-Authenticate %q names an error, but no token was sent (RFC 6750 §3.1)", ch)
	}
	return nil
}

func checkBearerJunk(ctx context.Context, rn *runner) error {
	a, err := rn.get(ctx, rn.opt.BaseURL+"/v1/me", http.Header{"Authorization": {"Bearer selftest-junk-token"}})
	if err != nil {
		return err
	}
	ch := a.header.Get("WWW-Authenticate")
	if a.status != http.StatusUnauthorized || !strings.Contains(ch, `error="invalid_token"`) {
		return fmt.Errorf(`got %d with WWW-Authenticate %q, want 401 with error="invalid_token"`, a.status, ch)
	}
	return nil
}

func checkRevokeJunk(ctx context.Context, rn *runner) error {
	ep, err := rn.endpoint("revocation_endpoint")
	if err != nil {
		return err
	}
	a, err := rn.postForm(ctx, ep, url.Values{"token": {"selftest-junk-token"}, "token_type_hint": {"access_token"}}.Encode(), nil)
	if err != nil {
		return err
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("got %d %q, want 200 for an unknown token", a.status, a.errorCode())
	}
	return nil
}

func checkRevokeMissing(ctx context.Context, rn *runner) error {
	ep, err := rn.endpoint("revocation_endpoint")
	if err != nil {
		return err
	}
	a, err := rn.postForm(ctx, ep, "token_type_hint=access_token", nil)
	if err != nil {
		return err
	}
	return wantError(a, http.StatusBadRequest, "invalid_request")
}

func checkIntrospectAuth(ctx context.Context, rn *runner) error {
	ep, err := rn.endpoint("introspection_endpoint")
	if err != nil {
		return err
	}
	a, err := rn.postForm(ctx, ep, "token=selftest-junk-token", nil)
	if err != nil {
		return err
	}
	ch := a.header.Get("WWW-Authenticate")
	if a.status != http.StatusUnauthorized || !strings.HasPrefix(strings.ToLower(ch), "basic") {
		return fmt.Errorf("got %d with WWW-Authenticate %q, want 401 Basic", a.status, ch)
	}
	return nil
}

// checkSecurityHeaders looks at a page, an API answer and an error.
func checkSecurityHeaders(ctx context.Context, rn *runner) error {
	for _, path := range []string{"/device", "/.well-known/oauth-authorization-server", "/v1/me"} {
		a, err := rn.get(ctx, rn.opt.BaseURL+path, nil)
		if err != nil {
			return err
		}
		if err := antiFraming(a.header); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

func antiFraming(h http.Header) error {
	want := map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
	for k, v := range want {
		if !strings.EqualFold(h.Get(k), v) {
			return fmt.Errorf("%s is %q, want %q", k, h.Get(k), v)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		return fmt.Errorf("Content-Security-Policy %q lacks frame-ancestors 'none'", h.Get("Content-Security-Policy"))
	}
	return nil
}

// checkNoStore: device and token answers carry secrets and must not be
// cached, errors included.
func checkNoStore(ctx context.Context, rn *runner) error {
	a, err := rn.startFlow(ctx)
	if err != nil {
		return err
	}
	if !strings.Contains(a.header.Get("Cache-Control"), "no-store") {
		return fmt.Errorf("device authorization answer: Cache-Control %q", a.header.Get("Cache-Control"))
	}
	b, err := rn.poll(ctx, "selftest-no-such-device-code")
	if err != nil {
		return err
	}
	if !strings.Contains(b.header.Get("Cache-Control"), "no-store") {
		return fmt.Errorf("token endpoint error: Cache-Control %q", b.header.Get("Cache-Control"))
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// stringList reads a JSON array of strings, skipping anything else.
func stringList(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
