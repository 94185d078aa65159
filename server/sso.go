package server

// The external SSO branch (DESIGN.md §2-§3, issue 4). Three HS256 JWS kinds,
// told apart by aud, carry it:
//
//	sso-initiate   signs a state envelope and hands the browser to the ACS
//	sso-complete   verifies the ACS's subject assertion (single-use nonce)
//	               and sets the approval-grant cookie
//	approval-context / approve-external / deny-external read and spend
//	               that cookie (single-use nonce, CSRF token inside it)
//
// None of these routes is mounted unless SSO is configured.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/julienschmidt/httprouter"

	"gatehouse/store"
	"gatehouse/tokens"
)

// SSOGrantCookie names the approval-grant cookie. Its value is a JWS (aud
// approval-grant); it is scoped to the device API path and lives 5 minutes.
const SSOGrantCookie = "gatehouse_sso_grant"

const (
	ssoGrantPath        = "/v1/oauth/device"
	ssoCallbackPath     = "/v1/device/sso-complete"
	ssoStateTTL         = 10 * time.Minute // and never past the code's expiry
	ssoAssertionMaxLife = 5 * time.Minute
	ssoGrantTTL         = 300 * time.Second
	maxACSAnswer        = 16 << 10
	maxACSURL           = 4096
	maxEmail            = 254
)

// Nonce namespaces in the store's nonce bucket, so an assertion nonce and a
// grant nonce can never collide.
const (
	nonceAssertion = "sso-assertion:"
	nonceGrant     = "sso-grant:"
)

var (
	errSSOUnavailable = statusErr(http.StatusBadGateway, "sso_unavailable",
		"the single sign-on service did not answer; try again later or use a local account")
	errNoGrant = statusErr(http.StatusUnauthorized, "sso_session_expired",
		"the SSO sign-in is missing or has expired; sign in with SSO again")
	errGrantConsumed = statusErr(http.StatusUnauthorized, "session_already_consumed",
		"this SSO sign-in was already used; sign in with SSO again")
	errGrantCode = oauthErr("invalid_request", "user_code does not match the SSO sign-in")
)

// ---- sso-initiate ----

// handleSSOInitiate signs a state envelope for a pending code, asks the ACS
// where to send the browser, and redirects there.
func (s *Server) handleSSOInitiate(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if err := s.allow(s.cfg.Limits.SSOInitiate, s.ipKey(r)); err != nil {
		return err
	}
	purpose, err := queryParam(r, "purpose")
	if err != nil {
		return err
	}
	if purpose != "" {
		return s.initiateDevicesSSO(w, r, purpose) // devices_sso.go
	}
	dc, err := s.initiateCode(r)
	if err != nil {
		return err
	}
	state, err := s.signState(dc)
	if err != nil {
		return err
	}
	// A new hand-off ends any older grant, whatever the ACS answers.
	http.SetCookie(w, s.grantCookie(r, "", -1))
	target, err := s.askACS(r.Context(), state)
	if err != nil {
		s.log.Warn("sso: the ACS gave no login URL", slog.String("client_id", dc.ClientID), slog.Any("err", err))
		return errSSOUnavailable
	}
	redirect(w, target)
	return nil
}

// initiateCode reads ?user_code= and returns its pending code. Like lookup,
// it is a code oracle, so it spends the failed-guess budgets.
func (s *Server) initiateCode(r *http.Request) (store.DeviceCode, error) {
	if err := s.checkGuess(r); err != nil {
		return store.DeviceCode{}, err
	}
	raw, err := queryParam(r, "user_code")
	if err != nil {
		return store.DeviceCode{}, err
	}
	code, err := tokens.NormalizeUserCode(raw)
	if err != nil {
		s.chargeMiss(r)
		return store.DeviceCode{}, oauthErr("invalid_request", "user_code is missing or not a Gatehouse code")
	}
	dc, err := s.pendingCode(code)
	switch {
	case errors.Is(err, errCodeGone) && dc.UserCode == "":
		s.chargeUnknown(r, code)
	case errors.Is(err, errCodeGone), errors.Is(err, errResolved):
		s.chargeMiss(r) // it exists (expired or decided), so it was no guess
	}
	return dc, err
}

// pendingCode returns the code if it is pending and unexpired; else
// errCodeGone (unknown or expired) or errResolved.
func (s *Server) pendingCode(code string) (store.DeviceCode, error) {
	dc, err := s.store.DeviceCodeByUserCode(code)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return dc, errCodeGone
	case err != nil:
		return dc, err
	case dc.Expired(s.now()):
		return dc, errCodeGone
	case dc.Status != store.StatusPending:
		return dc, errResolved
	}
	return dc, nil
}

// signState makes the state envelope. The callback URL comes from the
// configured public URL, never from the request's Host header.
func (s *Server) signState(dc store.DeviceCode) (string, error) {
	nonce, err := tokens.RandomString(16)
	if err != nil {
		return "", err
	}
	now := s.now()
	exp := now.Add(ssoStateTTL)
	if dc.ExpiresAt.Before(exp) {
		exp = dc.ExpiresAt
	}
	return s.cfg.SSO.keyset.Sign(tokens.Claims{Issuer: s.cfg.PublicURL, Audience: tokens.AudStateEnvelope,
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp), Nonce: nonce,
		UserCode: dc.UserCode, CallbackURL: s.cfg.PublicURL + ssoCallbackPath})
}

// askACS posts the state to the ACS and returns the login URL it answers.
func (s *Server) askACS(ctx context.Context, state string) (string, error) {
	body, err := json.Marshal(map[string]string{"signed_state": state})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, ssoACSTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.SSO.ACSURL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := s.cfg.SSO.HTTPClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	return readACSAnswer(resp)
}

// readACSAnswer accepts only 200 {"url": "<absolute http(s) URL>"}, read
// from a bounded body.
func readACSAnswer(resp *http.Response) (string, error) {
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ACS answered status %d", resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxACSAnswer+1))
	if err != nil {
		return "", fmt.Errorf("reading the ACS answer: %w", err)
	}
	if len(raw) > maxACSAnswer {
		return "", fmt.Errorf("ACS answer longer than %d bytes", maxACSAnswer)
	}
	var out struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("ACS answer is not the expected JSON: %w", err)
	}
	if len(out.URL) > maxACSURL || !isHTTPURL(out.URL) {
		return "", errors.New("ACS answer url is not an absolute http(s) URL")
	}
	return out.URL, nil
}

// redirect answers 302 to a URL we vetted, with no body.
func redirect(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
}

// ---- approval-grant cookie ----

// grantCookie is the approval-grant cookie; maxAge < 0 clears it. Lax lets
// it be set on the cross-site return from the identity provider.
func (s *Server) grantCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SSOGrantCookie, Value: value, Path: ssoGrantPath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.https(r)}
}

// setGrant signs a fresh grant for a verified subject and sets the cookie.
func (s *Server) setGrant(w http.ResponseWriter, r *http.Request, subj ssoSubject) error {
	tok, err := s.signSubjectCookie(tokens.AudApprovalGrant, subj, subj.userCode, ssoGrantTTL)
	if err != nil {
		return err
	}
	http.SetCookie(w, s.grantCookie(r, tok, int(ssoGrantTTL/time.Second)))
	return nil
}

// signSubjectCookie signs the value of a cookie that carries a verified SSO
// subject (the approval grant or the devices session, told apart by aud),
// with a fresh nonce and its own CSRF token.
func (s *Server) signSubjectCookie(aud string, subj ssoSubject, userCode string, ttl time.Duration) (string, error) {
	nonce, err := tokens.RandomString(16)
	if err != nil {
		return "", err
	}
	csrf, err := tokens.RandomString(32)
	if err != nil {
		return "", err
	}
	now := s.now()
	return s.cfg.SSO.keyset.Sign(tokens.Claims{Issuer: s.cfg.PublicURL, Audience: aud,
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl)), Nonce: nonce,
		UserCode: userCode, Email: subj.email, SubjectIssuer: subj.issuer, CSRFToken: csrf})
}

// grantFrom verifies the approval-grant cookie. It consumes nothing.
func (s *Server) grantFrom(r *http.Request) (tokens.Claims, error) {
	ck, err := r.Cookie(SSOGrantCookie)
	if err != nil || ck.Value == "" {
		return tokens.Claims{}, errNoGrant
	}
	c, err := s.cfg.SSO.keyset.Verify(ck.Value, tokens.AudApprovalGrant, s.now(), ssoGrantTTL)
	if err != nil || c.CSRFToken == "" || c.UserCode == "" || c.Email == "" || c.SubjectIssuer == "" {
		return tokens.Claims{}, errNoGrant
	}
	return c, nil
}

// handleApprovalContext tells the page who signed in and for which code.
func (s *Server) handleApprovalContext(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	g, err := s.grantFrom(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"subject_email": g.Email, "subject_issuer": g.SubjectIssuer,
		"user_code": tokens.FormatUserCode(g.UserCode), "csrf_token": g.CSRFToken,
		"expires_at": g.Expiry.Time().UTC().Format(time.RFC3339),
	})
	return nil
}

// ---- approve-external / deny-external ----

func (s *Server) handleApproveExternal(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	return s.resolveExternal(w, r, true)
}

func (s *Server) handleDenyExternal(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	return s.resolveExternal(w, r, false)
}

// resolveExternal spends the grant on the code it names. Checks run in a
// fixed order; everything before consumeGrant leaves the grant usable, so a
// forged or confused request cannot burn a person's sign-in.
func (s *Server) resolveExternal(w http.ResponseWriter, r *http.Request, approve bool) error {
	g, err := s.grantFrom(r)
	if err != nil {
		return err
	}
	if err := s.allow(s.cfg.Limits.ApproveExternal, g.Email); err != nil {
		return err
	}
	if err := s.requireOrigin(r); err != nil {
		return err
	}
	if got := r.Header.Get("X-CSRF-Token"); got == "" || !hmac.Equal([]byte(got), []byte(g.CSRFToken)) {
		return errCSRF
	}
	if err := grantCodeMatches(r, g.UserCode); err != nil {
		return err
	}
	if err := s.consumeGrant(w, r, g); err != nil {
		return err
	}
	return s.resolveAs(w, r, g, approve)
}

// grantCodeMatches checks that the body's user_code is the grant's.
func grantCodeMatches(r *http.Request, want string) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	code, err := tokens.NormalizeUserCode(p["user_code"])
	if err != nil || code != want {
		return errGrantCode
	}
	return nil
}

// consumeGrant claims the grant's nonce, once, and clears the cookie. It
// runs before the code's state is judged (ResolveDeviceCode does that in
// its own transaction): a grant names one code, so once that code is no
// longer pending the grant is dead anyway, and claiming first is what makes
// any second use answer session_already_consumed.
func (s *Server) consumeGrant(w http.ResponseWriter, r *http.Request, g tokens.Claims) error {
	err := s.store.ClaimNonce(nonceGrant+g.Nonce, g.Expiry.Time())
	if err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	http.SetCookie(w, s.grantCookie(r, "", -1))
	if err != nil {
		return errGrantConsumed
	}
	return nil
}

// resolveAs approves or denies the grant's code for its external subject;
// the next poll mints the dfoe_ token.
func (s *Server) resolveAs(w http.ResponseWriter, r *http.Request, g tokens.Claims, approve bool) error {
	subj := store.Subject{Type: tokens.External.SubjectType, Email: g.Email, Issuer: g.SubjectIssuer}
	dc, err := s.store.ResolveDeviceCode(store.Resolution{UserCode: g.UserCode, Approve: approve, Subject: subj,
		IP: s.clientIP(r), Now: s.now()})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errCodeGone
	case errors.Is(err, store.ErrAlreadyResolved):
		return errResolved
	case err != nil:
		return err
	}
	status := "denied"
	if approve {
		status = "approved"
	}
	s.log.Info("device code "+status+" via sso", slog.String("subject_email", g.Email),
		slog.String("subject_issuer", g.SubjectIssuer), slog.String("client_id", dc.ClientID))
	writeJSON(w, http.StatusOK, map[string]string{"status": status})
	return nil
}

// cleanEmail is the subject email as Gatehouse keys it: trimmed, lower case,
// printable, one '@'. ok=false when it cannot be an address.
func cleanEmail(raw string) (string, bool) {
	email, ok := cleanLabel(raw, maxEmail)
	email = strings.ToLower(email)
	if !ok || strings.ContainsAny(email, " \t") || strings.Count(email, "@") != 1 ||
		strings.HasPrefix(email, "@") || strings.HasSuffix(email, "@") {
		return "", false
	}
	return email, true
}
