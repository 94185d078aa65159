package server

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"gatehouse/store"
	"gatehouse/tokens"
)

// sso-complete is a browser navigation back from the identity provider, so
// a refusal is a redirect to the device page with one fixed code word from
// this list (the page explains each); nothing from the request is echoed.
const (
	ssoErrInvalid  = "invalid_assertion"  // malformed, bad MAC, wrong aud, unknown kid, too long-lived
	ssoErrExpired  = "assertion_expired"  // exp passed: the person took too long at the IdP
	ssoErrIssuer   = "issuer_not_allowed" // subject issuer not on --sso-issuers
	ssoErrEmail    = "missing_email"      // no usable subject email
	ssoErrCode     = "code_expired"       // the user code is no longer pending
	ssoErrReplayed = "assertion_replayed" // nonce already claimed (also across restarts)
	ssoErrLocal    = "local_account"      // --sso-reject-local-email and the email is a local account
)

// ssoSubject is what a verified assertion establishes.
type ssoSubject struct {
	email, issuer, userCode string
	devices                 bool // a My devices sign-in (purpose "devices"), not a code's
}

// ssoRefusal is an assertion refused for a reason the page may show.
type ssoRefusal struct {
	code    string
	subject string // the email, when the assertion's MAC held
	devices bool   // send the browser back to My devices, not /device
	cause   error
}

func (e *ssoRefusal) Error() string { return "sso refused: " + e.code }

func refuseSSO(code string, subj ssoSubject, cause error) error {
	return &ssoRefusal{code: code, subject: subj.email, devices: subj.devices, cause: cause}
}

// handleSSOComplete verifies the ACS's subject assertion and, if it holds,
// sets the approval-grant cookie and sends the browser to the device page.
func (s *Server) handleSSOComplete(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	subj, err := s.acceptAssertion(r)
	var refusal *ssoRefusal
	if errors.As(err, &refusal) {
		s.refused(w, r, refusal)
		return nil
	}
	if err != nil {
		return err
	}
	if subj.devices {
		return s.completeDevicesSSO(w, r, subj) // devices_sso.go
	}
	if err := s.setGrant(w, r, subj); err != nil {
		return err
	}
	s.log.Info("sso subject verified", slog.String("subject_email", subj.email), slog.String("subject_issuer", subj.issuer))
	redirect(w, "/device?sso_verified=1")
	return nil
}

// refused logs and audits a refusal, clears any older grant, and sends the
// browser to the device page with the code word.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, e *ssoRefusal) {
	s.log.Warn("sso assertion refused", slog.String("reason", e.code), slog.String("subject_email", e.subject),
		slog.String("ip", s.clientIP(r)), slog.Any("err", e.cause))
	if e.subject != "" {
		// Only assertions whose MAC held are audited, so noise cannot fill the log.
		s.store.RecordEvent(store.Event{At: s.now(), Type: "sso.refused", Subject: e.subject, IP: s.clientIP(r), Detail: e.code})
	}
	if e.devices {
		http.SetCookie(w, s.devicesCookie(r, "", -1))
		redirect(w, ssoDevicesPage+"?sso_error="+e.code)
		return
	}
	http.SetCookie(w, s.grantCookie(r, "", -1))
	redirect(w, "/device?sso_error="+e.code)
}

// acceptAssertion runs every check on ?sso_assertion= and claims its nonce.
func (s *Server) acceptAssertion(r *http.Request) (ssoSubject, error) {
	subj, c, err := s.verifyAssertion(r)
	if err != nil {
		return subj, err
	}
	if subj.devices {
		// No code to check; the local-email policy guards approvals, and a
		// devices sign-in reaches only (email, issuer)'s own tokens.
		return subj, s.claimAssertion(subj, c)
	}
	if _, err := s.pendingCode(subj.userCode); err != nil {
		if errors.Is(err, errCodeGone) || errors.Is(err, errResolved) {
			return subj, refuseSSO(ssoErrCode, subj, err)
		}
		return subj, err
	}
	if err := s.claimAssertion(subj, c); err != nil {
		return subj, err
	}
	return subj, s.checkLocalEmail(subj)
}

// claimAssertion spends the assertion's nonce, once, also across restarts.
func (s *Server) claimAssertion(subj ssoSubject, c tokens.Claims) error {
	err := s.store.ClaimNonce(nonceAssertion+c.Nonce, c.Expiry.Time())
	if errors.Is(err, store.ErrExists) {
		return refuseSSO(ssoErrReplayed, subj, err)
	}
	return err
}

// verifyAssertion checks the JWS (HS256, known kid, aud, lifetime) and the
// claims Gatehouse relies on. It reads no state.
func (s *Server) verifyAssertion(r *http.Request) (ssoSubject, tokens.Claims, error) {
	var subj ssoSubject
	raw, err := queryParam(r, "sso_assertion")
	if err != nil || raw == "" {
		return subj, tokens.Claims{}, refuseSSO(ssoErrInvalid, subj, err)
	}
	c, err := s.cfg.SSO.keyset.Verify(raw, tokens.AudSubjectAssertion, s.now(), ssoAssertionMaxLife)
	if errors.Is(err, tokens.ErrExpired) {
		return subj, c, refuseSSO(ssoErrExpired, subj, err)
	}
	if err != nil {
		return subj, c, refuseSSO(ssoErrInvalid, subj, err)
	}
	email, ok := cleanEmail(c.Email)
	subj = ssoSubject{email: email, issuer: c.SubjectIssuer, devices: c.Purpose == purposeDevices}
	if !s.cfg.SSO.allowsIssuer(c.SubjectIssuer) {
		return subj, c, refuseSSO(ssoErrIssuer, subj, errors.New("subject issuer not on the allow-list"))
	}
	if !ok {
		return subj, c, refuseSSO(ssoErrEmail, subj, errors.New("no usable email claim"))
	}
	if c.Purpose != "" {
		return subj, c, checkDevicesPurpose(subj, c) // devices_sso.go
	}
	if subj.userCode, err = tokens.NormalizeUserCode(c.UserCode); err != nil {
		return subj, c, refuseSSO(ssoErrInvalid, subj, err)
	}
	return subj, c, nil
}

// checkLocalEmail applies --sso-reject-local-email.
func (s *Server) checkLocalEmail(subj ssoSubject) error {
	if !s.cfg.SSO.RejectLocalEmail {
		return nil
	}
	_, err := s.store.AccountByEmail(subj.email)
	switch {
	case err == nil:
		return refuseSSO(ssoErrLocal, subj, errors.New("email belongs to a local account"))
	case errors.Is(err, store.ErrNotFound):
		return nil
	}
	return err
}
