package server

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"gatehouse/store"
	"gatehouse/tokens"
)

var (
	errNoBearer     = &apiError{Status: http.StatusUnauthorized, Code: "unauthenticated", Description: "a bearer token is required", Bearer: true}
	errInvalidToken = &apiError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "the token is invalid, expired or revoked", Bearer: true}
	// errTokenExpired answers exactly like errInvalidToken; it is a separate
	// value only so metrics can count expiries.
	errTokenExpired = &apiError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "the token is invalid, expired or revoked", Bearer: true}
)

// bearerCtx is a request authenticated by a live token.
type bearerCtx struct {
	kind  tokens.Kind
	token store.Token
}

type bearerHandler func(w http.ResponseWriter, r *http.Request, bc bearerCtx) error

// withBearer authenticates the Authorization header (RFC 6750). Unknown,
// revoked and expired tokens get the same answer.
func (s *Server) withBearer(h bearerHandler) handler {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		bc, err := s.authBearer(r)
		if err != nil {
			return err
		}
		if err := s.allow(s.cfg.Limits.Bearer, bc.token.ID); err != nil {
			return err
		}
		s.usage.touch(bc.token.ID, s.now())
		return h(w, r, bc)
	}
}

func (s *Server) authBearer(r *http.Request) (bc bearerCtx, err error) {
	defer func() { s.metrics.bearerChecked(err) }()
	raw, err := tokens.ParseBearer(r.Header.Get("Authorization"))
	if errors.Is(err, tokens.ErrNoBearer) {
		return bearerCtx{}, errNoBearer
	}
	if err != nil {
		return bearerCtx{}, errInvalidToken
	}
	return s.liveToken(raw)
}

// liveToken resolves a presented token value (from a header, or an
// introspection body) to its live row. Unknown, revoked and expired values
// answer alike; an expired one is hard-expired on the way.
func (s *Server) liveToken(raw string) (bearerCtx, error) {
	kind, err := tokens.KindOf(raw)
	if err != nil {
		return bearerCtx{}, errInvalidToken
	}
	h := tokens.HashOf(raw)
	t, err := s.store.TokenByHash(h)
	if errors.Is(err, store.ErrNotFound) || err == nil && t.Kind != kind.Name {
		return bearerCtx{}, errInvalidToken
	}
	if err != nil {
		return bearerCtx{}, err
	}
	if now := s.now(); !now.Before(t.ExpiresAt) {
		s.hardExpire(h, t)
		return bearerCtx{}, errTokenExpired
	}
	return bearerCtx{kind: kind, token: t}, nil
}

// hardExpire retires an expired token on its first presentation; the
// request is refused whatever the outcome.
func (s *Server) hardExpire(h tokens.Hash, t store.Token) {
	done, err := s.store.HardExpire(h, s.now())
	if err != nil {
		s.log.Error("hard-expire failed", slog.String("token_id", t.ID), slog.Any("err", err))
		return
	}
	if done {
		s.metrics.tokenEvent("hard_expired", 1)
		s.log.Info("token hard-expired", slog.String("token_id", t.ID))
	}
}

// handleMe answers who the token is.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, bc bearerCtx) error {
	subj, err := s.subjectOf(bc.kind, bc.token)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, meView{subjectView: subj, Scopes: bc.kind.Scopes, TokenID: bc.token.ID,
		ClientID: bc.token.ClientID, DeviceLabel: bc.token.DeviceLabel, ExpiresAt: bc.token.ExpiresAt.UTC()})
	return nil
}

// meView is /v1/me's answer: the subject plus the presented token. A struct,
// not a map: it is encoded on every call of the hottest bearer route.
type meView struct {
	subjectView
	Scopes      []string  `json:"scopes"`
	TokenID     string    `json:"token_id"`
	ClientID    string    `json:"client_id"`
	DeviceLabel string    `json:"device_label"`
	ExpiresAt   time.Time `json:"expires_at"`
}
