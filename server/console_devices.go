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
// SSO subjects use the same page through their own short-lived cookie and
// API (devices_sso.go); both share the listing and revoke code below, and
// each builds its filters from one (email, issuer) pair.

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
	out, err := s.deviceViews(s.ownTokens(sc))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
	return nil
}

// deviceViews lists the live tokens f selects, newest first, as their
// holder sees them.
func (s *Server) deviceViews(f store.TokenFilter) ([]deviceView, error) {
	rows, err := s.store.ListTokens(f)
	if err != nil {
		return nil, err
	}
	names, err := s.clientNames()
	if err != nil {
		return nil, err
	}
	newestFirst(rows)
	out := make([]deviceView, 0, len(rows))
	for _, t := range rows {
		out = append(out, deviceView{ID: t.ID, Prefix: t.Prefix, ClientID: t.ClientID, ClientName: names.of(t.ClientID),
			DeviceLabel: t.DeviceLabel, CreatedAt: t.CreatedAt.UTC(), LastUsedAt: optTime(t.LastUsedAt), ExpiresAt: t.ExpiresAt.UTC()})
	}
	return out, nil
}

// handleRevokeMyDevice revokes one of the caller's own tokens. Another
// subject's id answers 404, exactly like an unknown one.
func (s *Server) handleRevokeMyDevice(w http.ResponseWriter, r *http.Request, sc sessionCtx) error {
	return s.revokeOneFromConsole(w, r, accountAttr(sc), "token revoked on My devices", s.holderRevoke(sc.account.Email, store.LocalIssuer))
}

// holderRevoke builds the filter for a holder revoking one of its own
// tokens: (email, issuer) must own the row.
func (s *Server) holderRevoke(email, issuer string) func(id string) store.RevokeFilter {
	return func(id string) store.RevokeFilter {
		return store.RevokeFilter{TokenID: id, OwnerEmail: email, OwnerIssuer: issuer,
			Reason: "revoked by holder", Actor: email, Now: s.now()}
	}
}

func accountAttr(sc sessionCtx) slog.Attr { return slog.String("account", sc.account.ID) }

// revokeOneFromConsole revokes the token named in the body with the filter
// built for it, answering 404 for an id the filter does not reach. who
// names the caller in the log.
func (s *Server) revokeOneFromConsole(w http.ResponseWriter, r *http.Request, who slog.Attr, logMsg string, filter func(id string) store.RevokeFilter) error {
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
	s.log.Info(logMsg, who, slog.String("token_id", id))
	writeJSON(w, http.StatusOK, map[string]any{"revoked": len(res.Revoked) == 1, "token_id": id})
	return nil
}

// handleRevokeAllMyDevices revokes every token of the caller's subject, and
// turns its approved-but-unpolled codes to denied (store.Revoke does both).
func (s *Server) handleRevokeAllMyDevices(w http.ResponseWriter, r *http.Request, sc sessionCtx) error {
	if _, err := readOptionalParams(r); err != nil {
		return err // takes no body; one that is sent must parse
	}
	return s.revokeAllOf(w, sc.account.Email, store.LocalIssuer, accountAttr(sc))
}

// revokeAllOf revokes every token of (email, issuer); the issuer is always
// set, so the same email at another issuer is never reached.
func (s *Server) revokeAllOf(w http.ResponseWriter, email, issuer string, who slog.Attr) error {
	res, err := s.store.Revoke(store.RevokeFilter{Email: email, Issuer: issuer,
		Reason: "revoked by holder (all devices)", Actor: email, Now: s.now()})
	if err != nil {
		return err
	}
	s.metrics.tokenEvent("revoked", len(res.Revoked))
	s.log.Info("all tokens revoked on My devices", who, slog.Int("revoked", len(res.Revoked)))
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
