package selftest

// The checks that need a person's decision. They run only when the
// operator gives an account to decide with (Options.Approver): the
// selftest then signs in through Gatehouse's console API, as the /device
// page does, and approves or denies codes it started itself. Without an
// account they are reported as skipped, never as passed.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// Approver is a Gatehouse account the selftest signs in as to approve and
// deny its own codes.
type Approver struct {
	Email    string
	Password string
}

// errSkipped marks a check that did not run; Reason says why.
type errSkipped struct{ reason string }

func (e errSkipped) Error() string { return "skipped: " + e.reason }

// IsSkipped reports whether a result's error means the check did not run.
func IsSkipped(err error) bool {
	var s errSkipped
	return errors.As(err, &s)
}

var errNoApprover = errSkipped{"needs an account to approve with (--approve-email)"}

// approval is what the approval checks share: the signed-in session, and
// the token the approved flow produced.
type approval struct {
	client *http.Client // with the session cookie
	csrf   string
	token  string // the access token from the approved flow
	dc     string // the approved (and consumed) device code
}

// signIn logs in once through POST /console/api/login.
func (rn *runner) signIn(ctx context.Context) (*approval, error) {
	if rn.opt.Approver == nil {
		return nil, errNoApprover
	}
	if rn.approval != nil {
		return rn.approval, nil
	}
	if rn.signInErr != nil {
		return nil, rn.signInErr
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: rn.http.Timeout, Transport: rn.http.Transport, CheckRedirect: rn.http.CheckRedirect}
	body, _ := json.Marshal(map[string]string{"email": rn.opt.Approver.Email, "password": rn.opt.Approver.Password})
	a, err := rn.doWith(ctx, c, "POST", rn.opt.BaseURL+"/console/api/login", string(body),
		http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		rn.signInErr = err
		return nil, err
	}
	if a.status != http.StatusOK || a.str("csrf_token") == "" {
		rn.signInErr = fmt.Errorf("signing in as %s: got %d %q, want 200 with a csrf_token", rn.opt.Approver.Email, a.status, a.errorCode())
		return nil, rn.signInErr
	}
	rn.approval = &approval{client: c, csrf: a.str("csrf_token")}
	return rn.approval, nil
}

// decide approves or denies userCode as the signed-in account.
func (rn *runner) decide(ctx context.Context, ap *approval, userCode string, approve bool) error {
	path := "/console/api/oauth/device/deny"
	if approve {
		path = "/console/api/oauth/device/approve"
	}
	body, _ := json.Marshal(map[string]string{"user_code": userCode})
	a, err := rn.doWith(ctx, ap.client, "POST", rn.opt.BaseURL+path, string(body),
		http.Header{"Content-Type": {"application/json"}, "X-CSRF-Token": {ap.csrf}, "Origin": {originOf(rn.opt.BaseURL)}})
	if err != nil {
		return err
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("%s: got %d %q, want 200", path, a.status, a.errorCode())
	}
	return nil
}

// newFlow starts a flow and returns its device and user codes.
func (rn *runner) newFlow(ctx context.Context) (dc, uc string, expiresIn float64, err error) {
	a, err := rn.startFlow(ctx)
	if err != nil {
		return "", "", 0, err
	}
	if a.status != http.StatusOK || a.str("device_code") == "" || a.str("user_code") == "" {
		return "", "", 0, fmt.Errorf("device authorization: got %d %q", a.status, a.errorCode())
	}
	exp, _ := a.json["expires_in"].(float64)
	return a.str("device_code"), a.str("user_code"), exp, nil
}

// checkApprovedToken approves a fresh code and expects the token answer
// on the next poll (RFC 6749 §5.1: access_token, token_type Bearer,
// expires_in, no-store).
func checkApprovedToken(ctx context.Context, rn *runner) error {
	ap, err := rn.signIn(ctx)
	if err != nil {
		return err
	}
	dc, uc, _, err := rn.newFlow(ctx)
	if err != nil {
		return err
	}
	if err := rn.decide(ctx, ap, uc, true); err != nil {
		return err
	}
	a, err := rn.poll(ctx, dc)
	if err != nil {
		return err
	}
	if a.status != http.StatusOK || a.str("access_token") == "" {
		return fmt.Errorf("poll after approval: got %d %q, want 200 with an access_token", a.status, a.errorCode())
	}
	if !strings.EqualFold(a.str("token_type"), "Bearer") {
		return fmt.Errorf("token_type %q, want Bearer", a.str("token_type"))
	}
	if exp, _ := a.json["expires_in"].(float64); exp <= 0 {
		return fmt.Errorf("expires_in %v, want a positive number", a.json["expires_in"])
	}
	if cc := a.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		return fmt.Errorf("token answer Cache-Control %q, want no-store", cc)
	}
	ap.token, ap.dc = a.str("access_token"), dc
	return nil
}

var errNoToken = errors.New("no token (the approved-code check failed)")

// checkReplayAfterSuccess: a device code yields one token; polling it again
// is invalid_grant (RFC 8628 §3.5 and RFC 6749 §5.2).
func checkReplayAfterSuccess(ctx context.Context, rn *runner) error {
	ap, err := rn.signIn(ctx)
	if err != nil {
		return err
	}
	if ap.token == "" {
		return errNoToken
	}
	a, err := rn.poll(ctx, ap.dc)
	if err != nil {
		return err
	}
	return wantError(a, http.StatusBadRequest, "invalid_grant")
}

// checkTokenLifecycle: the issued token works as a bearer, RFC 7009
// revocation answers 200, and the revoked token is then refused.
func checkTokenLifecycle(ctx context.Context, rn *runner) error {
	ap, err := rn.signIn(ctx)
	if err != nil {
		return err
	}
	if ap.token == "" {
		return errNoToken
	}
	bearer := http.Header{"Authorization": {"Bearer " + ap.token}}
	a, err := rn.get(ctx, rn.opt.BaseURL+"/v1/me", bearer)
	if err != nil {
		return err
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("/v1/me with the new token: got %d %q, want 200", a.status, a.errorCode())
	}
	ep, err := rn.endpoint("revocation_endpoint")
	if err != nil {
		return err
	}
	form := url.Values{"token": {ap.token}, "client_id": {rn.opt.ClientID}}
	if a, err = rn.postForm(ctx, ep, form.Encode(), nil); err != nil {
		return err
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("revoking the token: got %d %q, want 200", a.status, a.errorCode())
	}
	if a, err = rn.get(ctx, rn.opt.BaseURL+"/v1/me", bearer); err != nil {
		return err
	}
	if a.status != http.StatusUnauthorized || !strings.Contains(a.header.Get("WWW-Authenticate"), "invalid_token") {
		return fmt.Errorf("/v1/me with the revoked token: got %d %q, want 401 invalid_token", a.status, a.header.Get("WWW-Authenticate"))
	}
	return nil
}

// checkDenied: a denied code answers access_denied and never a token.
func checkDenied(ctx context.Context, rn *runner) error {
	ap, err := rn.signIn(ctx)
	if err != nil {
		return err
	}
	dc, uc, _, err := rn.newFlow(ctx)
	if err != nil {
		return err
	}
	if err := rn.decide(ctx, ap, uc, false); err != nil {
		return err
	}
	a, err := rn.poll(ctx, dc)
	if err != nil {
		return err
	}
	if err := wantError(a, http.StatusBadRequest, "access_denied"); err != nil {
		return err
	}
	if a.str("access_token") != "" {
		return errors.New("a denied code's answer carries an access_token")
	}
	return nil
}

// checkExpired waits out a fresh code's lifetime and expects expired_token
// (RFC 8628 §3.5). It runs only with Options.WaitExpiry, since it takes
// the server's whole code lifetime.
func checkExpired(ctx context.Context, rn *runner) error {
	if !rn.opt.WaitExpiry {
		return errSkipped{"waits out a code's lifetime; run with --wait-expiry"}
	}
	dc, _, exp, err := rn.newFlow(ctx)
	if err != nil {
		return err
	}
	if exp <= 0 {
		return errors.New("the device authorization answer has no expires_in")
	}
	select {
	case <-time.After(time.Duration(exp*float64(time.Second)) + time.Second):
	case <-ctx.Done():
		return ctx.Err()
	}
	a, err := rn.poll(ctx, dc)
	if err != nil {
		return err
	}
	return wantError(a, http.StatusBadRequest, "expired_token")
}

// originOf is the scheme://host of a base URL: the Origin a browser on the
// approval page sends, which cookie-authenticated console POSTs require.
func originOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	return u.Scheme + "://" + u.Host
}
