package server

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"gatehouse/store"
	"gatehouse/tokens"
)

// handleRevoke is RFC 7009 token revocation for public clients. Holding the
// token is the authority to revoke it (as with DELETE
// /v1/oauth/authorizations/self), so a client_id, when sent, must be a
// registered client but need not be the token's own.
//
// Every well-formed request answers 200 with the same body: an unknown
// value and a revoked one take the same path (one hash-index lookup that
// misses, since revocation deletes the index entry); only a live value goes
// on to the revoke write.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	if err := s.optionalClient(r, p); err != nil {
		return err
	}
	raw := p["token"]
	if raw == "" {
		return oauthErr("invalid_request", "token is required")
	}
	if err := s.revokeValue(raw); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{})
	return nil
}

// optionalClient checks client_id (body or Basic user) only when one is
// sent.
func (s *Server) optionalClient(r *http.Request, p params) error {
	if _, _, basic := r.BasicAuth(); !basic && p["client_id"] == "" {
		return nil
	}
	_, err := s.client(r, p)
	return err
}

// revokeValue revokes the token raw hashes to, if it is live. Any value is
// hashed, malformed or not, so the work does not depend on its shape.
func (s *Server) revokeValue(raw string) error {
	h := tokens.HashOf(raw)
	if _, err := s.store.TokenByHash(h); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	res, err := s.store.Revoke(store.RevokeFilter{Hash: h, Reason: "revoked by client", Actor: "client", Now: s.now()})
	if errors.Is(err, store.ErrNotFound) {
		return nil // a concurrent revoke or rotation won
	}
	if err != nil {
		return err
	}
	s.metrics.tokenEvent("revoked", len(res.Revoked))
	for _, id := range res.Revoked {
		s.log.Info("token revoked by client (RFC 7009)", slog.String("token_id", id), slog.String("hash", h.Short()))
	}
	return nil
}
