package server

import (
	"cmp"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/julienschmidt/httprouter"

	"gatehouse/store"
)

// My devices (/account/devices): a signed-in local account lists and
// revokes its own live tokens. The subject is always the account's email
// with store.LocalIssuer, so an SSO subject that shares the email is a
// different person here, as it is on /v1/oauth/authorizations.
//
// SSO subjects have no page of their own yet: their approval-grant cookie is
// scoped to /v1/oauth/device and is single-use, so it cannot carry them to
// /account/devices. They can use /v1/oauth/authorizations with their token.

var errNoSuchToken = statusErr(http.StatusNotFound, "not_found", "no such token")

// maxTokenID bounds a token id read from a request; ours are far shorter.
const maxTokenID = 64

// deviceView is one live token as its holder sees it: never a hash.
type deviceView struct {
	ID          string     `json:"id"`
	Prefix      string     `json:"prefix"`
	ClientID    string     `json:"client_id"`
	ClientName  string     `json:"client_name"`
	DeviceLabel string     `json:"device_label"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at"` // null: never used
	ExpiresAt   time.Time  `json:"expires_at"`
}

// sessionRead guards a cookie-authenticated GET: the session, and the
// Origin when the browser sends one. Reads change nothing, so they need no
// CSRF token.
func (s *Server) sessionRead(h sessionHandler) handler {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		sc, err := s.currentSession(r)
		if err != nil {
			return err
		}
		if err := s.checkOrigin(r); err != nil {
			return err
		}
		return h(w, r, sc)
	}
}

// ownTokens is the filter for the caller's own live tokens.
func (s *Server) ownTokens(sc sessionCtx) store.TokenFilter {
	return store.TokenFilter{Email: sc.account.Email, Issuer: store.LocalIssuer, Now: s.now()}
}

func (s *Server) handleMyDevices(w http.ResponseWriter, r *http.Request, sc sessionCtx) error {
	rows, err := s.store.ListTokens(s.ownTokens(sc))
	if err != nil {
		return err
	}
	names, err := s.clientNames()
	if err != nil {
		return err
	}
	newestFirst(rows)
	out := make([]deviceView, 0, len(rows))
	for _, t := range rows {
		out = append(out, deviceView{ID: t.ID, Prefix: t.Prefix, ClientID: t.ClientID, ClientName: names.of(t.ClientID),
			DeviceLabel: t.DeviceLabel, CreatedAt: t.CreatedAt.UTC(), LastUsedAt: optTime(t.LastUsedAt), ExpiresAt: t.ExpiresAt.UTC()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
	return nil
}

// handleRevokeMyDevice revokes one of the caller's own tokens. Another
// subject's id answers 404, exactly like an unknown one.
func (s *Server) handleRevokeMyDevice(w http.ResponseWriter, r *http.Request, sc sessionCtx) error {
	return s.revokeOneFromConsole(w, r, sc, "token revoked on My devices", func(id string) store.RevokeFilter {
		return store.RevokeFilter{TokenID: id, OwnerEmail: sc.account.Email, OwnerIssuer: store.LocalIssuer,
			Reason: "revoked by holder", Actor: sc.account.Email, Now: s.now()}
	})
}

// revokeOneFromConsole revokes the token named in the path with the filter
// built for it, answering 404 for an id the filter does not reach.
func (s *Server) revokeOneFromConsole(w http.ResponseWriter, r *http.Request, sc sessionCtx, logMsg string, filter func(id string) store.RevokeFilter) error {
	id, err := tokenIDParam(r)
	if err != nil {
		return err
	}
	res, err := s.store.Revoke(filter(id))
	if errors.Is(err, store.ErrNotFound) {
		return errNoSuchToken
	}
	if err != nil {
		return err
	}
	s.metrics.tokenEvent("revoked", len(res.Revoked))
	s.log.Info(logMsg, slog.String("account", sc.account.ID), slog.String("token_id", id))
	writeJSON(w, http.StatusOK, map[string]any{"revoked": len(res.Revoked) == 1, "token_id": id})
	return nil
}

// handleRevokeAllMyDevices revokes every token of the caller's subject, and
// turns its approved-but-unpolled codes to denied (store.Revoke does both).
func (s *Server) handleRevokeAllMyDevices(w http.ResponseWriter, r *http.Request, sc sessionCtx) error {
	res, err := s.store.Revoke(store.RevokeFilter{Email: sc.account.Email, Issuer: store.LocalIssuer,
		Reason: "revoked by holder (all devices)", Actor: sc.account.Email, Now: s.now()})
	if err != nil {
		return err
	}
	s.metrics.tokenEvent("revoked", len(res.Revoked))
	s.log.Info("all tokens revoked on My devices", slog.String("account", sc.account.ID), slog.Int("revoked", len(res.Revoked)))
	writeJSON(w, http.StatusOK, map[string]any{"revoked": len(res.Revoked), "denied_codes": res.DeniedCodes})
	return nil
}

// tokenIDParam reads the token_id of a revoke body.
func tokenIDParam(r *http.Request) (string, error) {
	p, err := readParams(r)
	if err != nil {
		return "", err
	}
	id := p["token_id"]
	if id == "" {
		return "", oauthErr("invalid_request", "token_id is required")
	}
	if len(id) > maxTokenID {
		return "", errNoSuchToken
	}
	return id, nil
}

// clientNameMap maps client ids to display names.
type clientNameMap map[string]string

// of is a client's name, or its id once the client is unregistered.
func (m clientNameMap) of(id string) string {
	if n := m[id]; n != "" {
		return n
	}
	return id
}

func (s *Server) clientNames() (clientNameMap, error) {
	cs, err := s.store.ListClients()
	m := make(clientNameMap, len(cs))
	for _, c := range cs {
		m[c.ID] = c.Name
	}
	return m, err
}

// newestFirst orders token rows by creation, newest first, then by id.
func newestFirst(rows []store.Token) {
	slices.SortFunc(rows, func(a, b store.Token) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
