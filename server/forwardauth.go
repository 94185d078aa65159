package server

import (
	"net/http"
	"strings"

	"gatehouse/tokens"
)

// Headers the forward-auth answer carries for the proxy to copy upstream.
const (
	HeaderAuthSubject = "X-Auth-Subject"
	HeaderAuthEmail   = "X-Auth-Email"
	HeaderAuthScopes  = "X-Auth-Scopes"
	HeaderAuthTokenID = "X-Auth-Token-Id"
)

// handleVerify answers a reverse proxy's sub-request (nginx auth_request,
// Traefik ForwardAuth, Caddy forward_auth): 200 with the subject in
// headers for a live bearer token that has every scope in ?scope=
// (space-separated), else the RFC 6750 401 or 403. withBearer has already
// authenticated, rate-limited and noted the use.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request, bc bearerCtx) error {
	want, err := queryParam(r, "scope")
	if err != nil {
		return err
	}
	if err := requireScopes(bc.kind, want); err != nil {
		return err
	}
	h := w.Header()
	h.Set(HeaderAuthSubject, subjectID(bc.token))
	h.Set(HeaderAuthEmail, bc.token.SubjectEmail)
	h.Set(HeaderAuthScopes, bc.kind.ScopeString())
	h.Set(HeaderAuthTokenID, bc.token.ID)
	writeJSON(w, http.StatusOK, map[string]any{"active": true, "sub": subjectID(bc.token),
		"username": bc.token.SubjectEmail, "scope": bc.kind.ScopeString(), "jti": bc.token.ID})
	return nil
}

// requireScopes refuses a token whose kind lacks any wanted scope.
func requireScopes(k tokens.Kind, want string) error {
	for _, sc := range strings.Fields(want) {
		if !k.HasScope(sc) {
			return &apiError{Status: http.StatusForbidden, Code: "insufficient_scope",
				Description: "the token lacks a required scope", Bearer: true}
		}
	}
	return nil
}
