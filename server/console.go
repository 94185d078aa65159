package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	"gatehouse/store"
	"gatehouse/tokens"
)

// SessionCookie names the sign-in cookie; its value is stored only hashed.
const SessionCookie = "gatehouse_session"

// sessionTTL is how long a browser stays signed in.
const sessionTTL = 12 * time.Hour

var errBadCredentials = statusErr(http.StatusUnauthorized, "invalid_credentials", "email or password is wrong")

// dummyHash equalises the time of a sign-in for an unknown email with that of
// a wrong password. It is made on first use, not at start-up.
var dummyHash = sync.OnceValue(func() string {
	h, _ := tokens.HashPassword("gatehouse-dummy-password", tokens.DefaultArgon2)
	return h
})

// sessionCtx is a signed-in caller.
type sessionCtx struct {
	account    store.Account
	ms         []store.Membership
	cookieHash tokens.Hash
	csrf       string
}

type sessionHandler func(w http.ResponseWriter, r *http.Request, sc sessionCtx) error

// handleLogin checks a local account's password and starts a session.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if err := s.checkOrigin(r); err != nil {
		return err
	}
	if err := s.checkFailures(s.cfg.Limits.SignInIP, s.ipKey(r)); err != nil {
		return err
	}
	p, err := readParams(r)
	if err != nil {
		return err
	}
	email, password := p["email"], p["password"]
	if email == "" || password == "" || len(email) > 254 || len(password) > 1024 {
		return oauthErr("invalid_request", "email and password are required")
	}
	emailKey := strings.ToLower(strings.TrimSpace(email))
	if err := s.checkFailures(s.cfg.Limits.SignInEmail, emailKey); err != nil {
		return err
	}
	a, err := s.authenticate(email, password)
	if err != nil {
		s.charge(s.cfg.Limits.SignInIP, s.ipKey(r))
		s.charge(s.cfg.Limits.SignInEmail, emailKey)
		// What was typed as the email is recorded only when it names an
		// account: a password typed into the wrong field (even one with an
		// '@') must not reach the log or the audit trail, nor control
		// characters an operator's terminal.
		ev := store.Event{At: s.now(), Type: "signin.failed", Subject: a.Email, IP: s.clientIP(r)}
		switch {
		case a.ID != "":
		case !validEmail(email):
			ev.Detail = "not an email address"
		default:
			ev.Detail = "no such account"
		}
		s.store.RecordEvent(ev)
		s.log.Warn("sign-in failed", slog.String("email", ev.Subject), slog.String("ip", ev.IP))
		return err
	}
	cookie, err := tokens.RandomString(32)
	if err != nil {
		return err
	}
	h := tokens.HashOf(cookie)
	now := s.now()
	err = s.store.SignIn(h, store.Session{AccountID: a.ID, CreatedAt: now, ExpiresAt: now.Add(sessionTTL)}, a.PasswordHash)
	if errors.Is(err, store.ErrNotFound) {
		return errBadCredentials // the password changed, or the account was disabled, while we checked
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, s.sessionCookie(r, cookie, int(sessionTTL/time.Second)))
	acct, ms, err := s.store.AccountByID(a.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionBody(acct, ms, s.csrfToken(cookie)))
	return nil
}

func (s *Server) authenticate(email, password string) (store.Account, error) {
	a, err := s.store.AccountByEmail(email)
	if errors.Is(err, store.ErrNotFound) {
		tokens.VerifyPassword(dummyHash(), password)
		return a, errBadCredentials
	}
	if err != nil {
		return a, err
	}
	ok, err := tokens.VerifyPassword(a.PasswordHash, password)
	if err != nil || !ok || a.Disabled {
		return a, errBadCredentials
	}
	return a, nil
}

func (s *Server) sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.https(r)}
}

func sessionBody(a store.Account, ms []store.Membership, csrf string) map[string]any {
	def := ""
	if len(ms) > 0 {
		def = ms[0].Workspace.ID
	}
	return map[string]any{"account": viewAccount(a), "workspaces": viewWorkspaces(ms),
		"default_workspace_id": def, "csrf_token": csrf}
}

// csrfToken is derived from the session cookie with the secret key, so it
// needs no storage and dies with the session.
func (s *Server) csrfToken(cookie string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("csrf\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// currentSession resolves the session cookie, or errUnauthSession.
func (s *Server) currentSession(r *http.Request) (sessionCtx, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return sessionCtx{}, errUnauthSession
	}
	h := tokens.HashOf(c.Value)
	a, ms, err := s.store.SessionAccount(h, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return sessionCtx{}, errUnauthSession
	}
	if err != nil {
		return sessionCtx{}, err
	}
	return sessionCtx{account: a, ms: ms, cookieHash: h, csrf: s.csrfToken(c.Value)}, nil
}

// withSession guards a cookie-authenticated POST: session, then Origin (or
// Referer, which must be present), then the X-CSRF-Token header.
func (s *Server) withSession(h sessionHandler) handler {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		sc, err := s.currentSession(r)
		if err != nil {
			return err
		}
		if err := s.requireOrigin(r); err != nil {
			return err
		}
		got := r.Header.Get("X-CSRF-Token")
		if got == "" || !hmac.Equal([]byte(got), []byte(sc.csrf)) {
			return errCSRF
		}
		return h(w, r, sc)
	}
}

// checkOrigin refuses a cross-site browser request: when the browser says
// where the request came from (Origin, else Referer), it must be us.
func (s *Server) checkOrigin(r *http.Request) error {
	want := s.cfg.origin()
	if o := r.Header.Get("Origin"); o != "" {
		if o != want {
			return errCSRF
		}
		return nil
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		if err != nil || u.Scheme+"://"+u.Host != want {
			return errCSRF
		}
	}
	return nil
}

// requireOrigin is checkOrigin for a cookie-authenticated POST, where the
// request must also say where it came from: browsers send Origin on every
// fetch POST, so only scripts omit it, and a script can send it (the public
// URL's scheme://host).
func (s *Server) requireOrigin(r *http.Request) error {
	if r.Header.Get("Origin") == "" && r.Header.Get("Referer") == "" {
		return errCSRF
	}
	return s.checkOrigin(r)
}

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	sc, err := s.currentSession(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionBody(sc.account, sc.ms, sc.csrf))
	return nil
}

// handleLogout ends the session. The page sends no body; a body that is sent
// must still parse, so a malformed request changes nothing.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, sc sessionCtx) error {
	if _, err := readOptionalParams(r); err != nil {
		return err
	}
	if err := s.store.DeleteSession(sc.cookieHash); err != nil {
		return err
	}
	http.SetCookie(w, s.sessionCookie(r, "", -1))
	writeJSON(w, http.StatusOK, map[string]string{"status": "signed_out"})
	return nil
}

func (s *Server) handleApprove(w http.ResponseWriter, r *http.Request, sc sessionCtx) error {
	return s.resolve(w, r, sc, true)
}

func (s *Server) handleDeny(w http.ResponseWriter, r *http.Request, sc sessionCtx) error {
	return s.resolve(w, r, sc, false)
}

// resolve approves or denies the code in the body for the signed-in account.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, sc sessionCtx, approve bool) error {
	if err := s.allow(s.cfg.Limits.ApproveAccount, sc.account.ID); err != nil {
		return err
	}
	if err := s.allow(s.cfg.Limits.ApproveSession, sc.cookieHash.Short()); err != nil {
		return err
	}
	if err := s.checkGuess(r); err != nil {
		return err
	}
	p, err := readParams(r)
	if err != nil {
		return err
	}
	code, err := tokens.NormalizeUserCode(p["user_code"])
	if err != nil {
		s.chargeMiss(r)
		return oauthErr("invalid_request", "user_code is missing or not a Gatehouse code")
	}
	ws, err := pickWorkspace(sc.ms, p["workspace_id"])
	if err != nil {
		return err
	}
	subj := store.Subject{Type: tokens.Account.SubjectType, Email: sc.account.Email, Issuer: store.LocalIssuer,
		AccountID: sc.account.ID, WorkspaceID: ws}
	dc, err := s.store.ResolveDeviceCode(store.Resolution{UserCode: code, Approve: approve, Subject: subj, IP: s.clientIP(r), Now: s.now()})
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.chargeUnknown(r, code)
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
	s.log.Info("device code "+status, slog.String("account", sc.account.ID), slog.String("client_id", dc.ClientID))
	writeJSON(w, http.StatusOK, map[string]string{"status": status})
	return nil
}

// pickWorkspace returns the requested workspace if the account belongs to it,
// or the account's first workspace when none is asked for.
func pickWorkspace(ms []store.Membership, want string) (string, error) {
	if want == "" {
		if len(ms) == 0 {
			return "", nil
		}
		return ms[0].Workspace.ID, nil
	}
	for _, m := range ms {
		if m.Workspace.ID == want {
			return want, nil
		}
	}
	return "", oauthErr("invalid_request", "workspace_id is not one of your workspaces")
}
