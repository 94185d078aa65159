package server

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"gatehouse/store"
	"gatehouse/tokens"
)

var errResourceAuth = &apiError{Status: http.StatusUnauthorized, Code: "invalid_client",
	Description: "resource server authentication failed", BasicAuth: true}

// handleIntrospect is RFC 7662 token introspection for registered resource
// servers (HTTP Basic, RFC 6749 §2.3.1 encoding). Any token that is not
// live answers exactly {"active":false}, whatever the reason.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	// A caller that keeps presenting wrong credentials is slowed down per
	// IP; a resource server with the right secret never spends the budget.
	if err := s.checkFailures(s.cfg.Limits.IntrospectAuth, s.ipKey(r)); err != nil {
		return err
	}
	rs, err := s.authResource(r)
	if errors.Is(err, errResourceAuth) {
		s.charge(s.cfg.Limits.IntrospectAuth, s.ipKey(r))
	}
	if err != nil {
		s.metrics.introspected("unauthorized")
		return err
	}
	p, err := readParams(r)
	if err != nil {
		return err
	}
	raw := p["token"]
	if raw == "" {
		return oauthErr("invalid_request", "token is required")
	}
	bc, err := s.liveToken(raw)
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		s.metrics.introspected("inactive")
		writeJSON(w, http.StatusOK, map[string]bool{"active": false})
		return nil
	case err != nil:
		return err
	}
	s.metrics.introspected("active")
	s.usage.seen(bc.token.ID, rs.Name, s.now())
	writeJSON(w, http.StatusOK, s.introspection(bc))
	return nil
}

// authResource checks Basic credentials against the registry. An unknown
// name costs the same hash and compare as a wrong secret.
func (s *Server) authResource(r *http.Request) (store.ResourceServer, error) {
	user, pass, ok := r.BasicAuth()
	if !ok || len(user) > 256 || len(pass) > 256 {
		return store.ResourceServer{}, errResourceAuth
	}
	rs, err := s.store.ResourceServerByName(unescapeBasic(user))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return rs, err
	}
	got := tokens.HashOf(unescapeBasic(pass))
	match := subtle.ConstantTimeCompare(got[:], rs.SecretHash[:]) == 1
	if err != nil || !match {
		return store.ResourceServer{}, errResourceAuth
	}
	return rs, nil
}

// introspection is the RFC 7662 §2.2 answer for a live token, plus the
// subject type and issuer a resource server needs to tell an account from
// an SSO subject with the same email.
func (s *Server) introspection(bc bearerCtx) map[string]any {
	t := bc.token
	return map[string]any{
		"active": true, "scope": bc.kind.ScopeString(), "client_id": t.ClientID,
		"sub": subjectID(t), "username": t.SubjectEmail, "token_type": "Bearer",
		"exp": t.ExpiresAt.Unix(), "iat": issuedAt(t).Unix(), "jti": t.ID, "iss": s.cfg.PublicURL,
		"subject_type": bc.kind.SubjectType, "subject_issuer": t.SubjectIssuer,
	}
}

// subjectID is the token's "sub": the account id for a local account (it
// survives an email change), the email for an SSO subject (Gatehouse knows
// no other identifier for it). It is unique only together with
// subject_issuer: two identity providers may assert the same email.
func subjectID(t store.Token) string {
	if t.AccountID != "" {
		return t.AccountID
	}
	return t.SubjectEmail
}

// issuedAt is when this token value was minted: a rotation in place keeps
// the row (and its id) but issues a new value.
func issuedAt(t store.Token) time.Time {
	if !t.RotatedAt.IsZero() {
		return t.RotatedAt
	}
	return t.CreatedAt
}
