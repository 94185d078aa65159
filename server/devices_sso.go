package server

// My devices for SSO subjects. An SSO subject has no local session, so the
// page sends it through the SSO branch with purpose "devices":
//
//	GET /v1/oauth/device/sso-initiate?purpose=devices
//	    a state envelope with purpose "devices" and no user_code
//	ACS -> GET /v1/device/sso-complete
//	    the assertion must echo purpose "devices" and carry no user_code;
//	    its nonce is claimed once, like any assertion's
//	    -> the devices cookie, then /account/devices?sso_verified=1
//	GET  /console/api/sso-devices             list (cookie, Origin)
//	POST /console/api/sso-devices/revoke      one  (cookie, Origin, X-CSRF-Token)
//	POST /console/api/sso-devices/revoke-all  all  (cookie, Origin, X-CSRF-Token)
//	POST /console/api/sso-devices/signout     clear the cookie
//
// The devices cookie is a JWS with its own aud (tokens.AudDevicesSession),
// so it can never stand in for a state envelope, an assertion or an
// approval grant, nor they for it. It names one (subject email, subject
// issuer) and every filter here is built from that pair, so a local
// account's tokens with the same email are never listed or revoked. It is
// a short session rather than a single-use grant: the page lists and
// revokes several times with it, and its nonce is only there because every
// envelope carries one. Mounted only when SSO is configured.

import (
	"crypto/hmac"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/julienschmidt/httprouter"

	"gatehouse/store"
	"gatehouse/tokens"
)

// SSODevicesCookie names the cookie that signs an SSO subject in to My
// devices. Its value is a JWS (aud gatehouse:sso-devices), scoped to the
// SSO devices API and living ssoDevicesTTL.
const SSODevicesCookie = "gatehouse_sso_devices"

const (
	purposeDevices = "devices"
	ssoDevicesPath = "/console/api/sso-devices"
	ssoDevicesPage = "/account/devices"
	ssoDevicesTTL  = 10 * time.Minute
)

var errNoDevicesSession = statusErr(http.StatusUnauthorized, "unauthenticated",
	"the SSO sign-in for My devices is missing or has expired; sign in with SSO again")

// ssoDevicesCtx is an SSO subject signed in to My devices.
type ssoDevicesCtx struct {
	email, issuer, csrf string
	expires             time.Time
}

type ssoDevicesHandler func(w http.ResponseWriter, r *http.Request, dc ssoDevicesCtx) error

// ---- sign-in ----

// initiateDevicesSSO is sso-initiate with ?purpose=devices: a state
// envelope without a user_code, sent to the same ACS.
func (s *Server) initiateDevicesSSO(w http.ResponseWriter, r *http.Request, purpose string) error {
	if purpose != purposeDevices || r.URL.Query().Has("user_code") {
		return oauthErr("invalid_request", "purpose must be devices, without a user_code")
	}
	state, err := s.signDevicesState()
	if err != nil {
		return err
	}
	target, err := s.askACS(r.Context(), state)
	if err != nil {
		s.log.Warn("sso: the ACS gave no login URL for My devices", slog.Any("err", err))
		return errSSOUnavailable
	}
	redirect(w, target)
	return nil
}

func (s *Server) signDevicesState() (string, error) {
	nonce, err := tokens.RandomString(16)
	if err != nil {
		return "", err
	}
	now := s.now()
	return s.cfg.SSO.keyset.Sign(tokens.Claims{Issuer: s.cfg.PublicURL, Audience: tokens.AudStateEnvelope,
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ssoStateTTL)), Nonce: nonce,
		Purpose: purposeDevices, CallbackURL: s.cfg.PublicURL + ssoCallbackPath})
}

// checkDevicesPurpose vets an assertion that names a purpose: only
// "devices", never with a user_code (one assertion, one purpose), and never
// for the local issuer, whose tokens belong to local accounts.
func checkDevicesPurpose(subj ssoSubject, c tokens.Claims) error {
	switch {
	case c.Purpose != purposeDevices:
		return refuseSSO(ssoErrInvalid, subj, errors.New("unknown purpose"))
	case c.UserCode != "":
		return refuseSSO(ssoErrInvalid, subj, errors.New("a devices assertion carries a user_code"))
	case subj.issuer == store.LocalIssuer:
		return refuseSSO(ssoErrIssuer, subj, errors.New("the local issuer cannot sign in through SSO"))
	}
	return nil
}

// completeDevicesSSO sets the devices cookie for a verified subject whose
// assertion nonce is already claimed, and sends the browser to My devices.
func (s *Server) completeDevicesSSO(w http.ResponseWriter, r *http.Request, subj ssoSubject) error {
	tok, err := s.signSubjectCookie(tokens.AudDevicesSession, subj, "", ssoDevicesTTL)
	if err != nil {
		return err
	}
	http.SetCookie(w, s.devicesCookie(r, tok, int(ssoDevicesTTL/time.Second)))
	s.log.Info("sso subject signed in to My devices", slog.String("subject_email", subj.email), slog.String("subject_issuer", subj.issuer))
	redirect(w, ssoDevicesPage+"?sso_verified=1")
	return nil
}

// devicesCookie is the devices cookie; maxAge < 0 clears it. Lax lets it be
// set on the cross-site return from the identity provider.
func (s *Server) devicesCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SSODevicesCookie, Value: value, Path: ssoDevicesPath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.https(r)}
}

// devicesSessionFrom verifies the devices cookie.
func (s *Server) devicesSessionFrom(r *http.Request) (ssoDevicesCtx, error) {
	ck, err := r.Cookie(SSODevicesCookie)
	if err != nil || ck.Value == "" {
		return ssoDevicesCtx{}, errNoDevicesSession
	}
	c, err := s.cfg.SSO.keyset.Verify(ck.Value, tokens.AudDevicesSession, s.now(), ssoDevicesTTL)
	if err != nil || c.CSRFToken == "" || c.Email == "" || c.SubjectIssuer == "" || c.SubjectIssuer == store.LocalIssuer {
		return ssoDevicesCtx{}, errNoDevicesSession
	}
	return ssoDevicesCtx{email: c.Email, issuer: c.SubjectIssuer, csrf: c.CSRFToken, expires: c.Expiry.Time()}, nil
}

// ---- guards ----

// ssoDevicesRead guards a GET: the cookie, and the Origin when sent.
// Reads change nothing, so they need no CSRF token.
func (s *Server) ssoDevicesRead(h ssoDevicesHandler) handler {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		dc, err := s.devicesSessionFrom(r)
		if err != nil {
			return err
		}
		if err := s.checkOrigin(r); err != nil {
			return err
		}
		return h(w, r, dc)
	}
}

// ssoDevicesWrite guards a POST like withSession does: the cookie, then
// Origin (or Referer, which must be present), then X-CSRF-Token.
func (s *Server) ssoDevicesWrite(h ssoDevicesHandler) handler {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		dc, err := s.devicesSessionFrom(r)
		if err != nil {
			return err
		}
		if err := s.requireOrigin(r); err != nil {
			return err
		}
		if got := r.Header.Get("X-CSRF-Token"); got == "" || !hmac.Equal([]byte(got), []byte(dc.csrf)) {
			return errCSRF
		}
		return h(w, r, dc)
	}
}

// ---- the API ----

// handleSSODevices tells the page who is signed in and lists their tokens.
func (s *Server) handleSSODevices(w http.ResponseWriter, r *http.Request, dc ssoDevicesCtx) error {
	out, err := s.deviceViews(store.TokenFilter{Email: dc.email, Issuer: dc.issuer, Now: s.now()})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"subject_email": dc.email, "subject_issuer": dc.issuer,
		"csrf_token": dc.csrf, "expires_at": dc.expires.UTC().Format(time.RFC3339), "devices": out})
	return nil
}

func (s *Server) handleSSORevokeDevice(w http.ResponseWriter, r *http.Request, dc ssoDevicesCtx) error {
	return s.revokeOneFromConsole(w, r, dc.attr(), "token revoked on My devices (SSO)", s.holderRevoke(dc.email, dc.issuer))
}

func (s *Server) handleSSORevokeAllDevices(w http.ResponseWriter, r *http.Request, dc ssoDevicesCtx) error {
	if _, err := readOptionalParams(r); err != nil {
		return err // takes no body; one that is sent must parse
	}
	return s.revokeAllOf(w, dc.email, dc.issuer, dc.attr())
}

func (s *Server) handleSSODevicesSignOut(w http.ResponseWriter, r *http.Request, _ ssoDevicesCtx) error {
	if _, err := readOptionalParams(r); err != nil {
		return err
	}
	http.SetCookie(w, s.devicesCookie(r, "", -1))
	writeJSON(w, http.StatusOK, map[string]string{"status": "signed_out"})
	return nil
}

func (dc ssoDevicesCtx) attr() slog.Attr {
	return slog.Group("subject", slog.String("email", dc.email), slog.String("issuer", dc.issuer))
}
