package server

import (
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"gatehouse/store"
)

// handleListAuthorizations lists the caller's live tokens: the same subject
// (email and issuer), so an account and an SSO subject sharing an email
// never see each other's rows.
func (s *Server) handleListAuthorizations(w http.ResponseWriter, r *http.Request, bc bearerCtx) error {
	rows, err := s.store.ListTokens(store.TokenFilter{Email: bc.token.SubjectEmail, Issuer: bc.token.SubjectIssuer, Now: s.now()})
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(rows))
	for _, t := range rows {
		out = append(out, map[string]any{"id": t.ID, "prefix": t.Prefix, "client_id": t.ClientID,
			"device_label": t.DeviceLabel, "created_at": t.CreatedAt.UTC(), "last_used_at": nullTime(t.LastUsedAt),
			"expires_at": t.ExpiresAt.UTC(), "current": t.ID == bc.token.ID})
	}
	writeJSON(w, http.StatusOK, map[string]any{"authorizations": out})
	return nil
}

// handleRevokeAuthorization revokes one of the caller's own tokens; "self"
// names the presented one. Someone else's id answers 404, not 403, so ids
// cannot be probed.
func (s *Server) handleRevokeAuthorization(w http.ResponseWriter, r *http.Request, bc bearerCtx, id string) error {
	f := store.RevokeFilter{TokenID: id, OwnerEmail: bc.token.SubjectEmail, OwnerIssuer: bc.token.SubjectIssuer,
		Reason: "revoked by holder", Actor: bc.token.SubjectEmail, Now: s.now()}
	if id == "self" {
		// By the presented token's hash, not its id: a re-login may have
		// rotated a new value into the id since this request authenticated,
		// and that token is not the caller's to revoke.
		f.TokenID, f.Hash, id = "", bc.token.Hash, bc.token.ID
	}
	res, err := s.store.Revoke(f)
	if errors.Is(err, store.ErrNotFound) {
		return statusErr(http.StatusNotFound, "not_found", "no such authorization")
	}
	if err != nil {
		return err
	}
	s.metrics.tokenEvent("revoked", len(res.Revoked))
	s.log.Info("token revoked by its subject", "token_id", id)
	writeJSON(w, http.StatusOK, map[string]any{"revoked": len(res.Revoked) == 1, "token_id": id})
	return nil
}

func (s *Server) revokeAuthorizationRoute() handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		id := ps.ByName("id")
		return s.withBearer(func(w http.ResponseWriter, r *http.Request, bc bearerCtx) error {
			return s.handleRevokeAuthorization(w, r, bc, id)
		})(w, r, ps)
	}
}

func nullTime(t interface{ IsZero() bool }) any {
	if t.IsZero() {
		return nil
	}
	return t
}
