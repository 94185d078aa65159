package server

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"gatehouse/store"
	"gatehouse/tokens"
)

// DeviceGrantType is the RFC 8628 grant type URN.
const DeviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// maxDeviceLabel bounds the free-text label a CLI may attach.
const maxDeviceLabel = 128

var (
	errUnknownClient = oauthErr("invalid_client", "unknown client_id")
	errInvalidGrant  = oauthErr("invalid_grant", "the device code is unknown, already used, or belongs to another client")
	errExpiredToken  = oauthErr("expired_token", "the device code has expired; start again")
	errPending       = oauthErr("authorization_pending", "the user has not yet approved this code")
	errAccessDenied  = oauthErr("access_denied", "the request was denied")
)

// handleDeviceCode starts a flow (RFC 8628 §3.1-3.2).
func (s *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if err := s.allow(s.cfg.Limits.DeviceCode, s.ipKey(r)); err != nil {
		return err
	}
	p, err := readParams(r)
	if err != nil {
		return err
	}
	client, err := s.client(r, p)
	if err != nil {
		return err
	}
	label, ok := cleanLabel(p["device_label"], maxDeviceLabel)
	if !ok {
		return oauthErr("invalid_request", "device_label must be at most 128 printable characters")
	}
	if err := checkScope(p["scope"]); err != nil {
		return err
	}
	deviceCode, dc, err := s.createCode(client.ID, label, p["scope"], s.clientIP(r))
	if err != nil {
		return err
	}
	uri := s.cfg.PublicURL + "/device"
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               deviceCode,
		"user_code":                 tokens.FormatUserCode(dc.UserCode),
		"verification_uri":          uri,
		"verification_uri_complete": uri + "?user_code=" + tokens.FormatUserCode(dc.UserCode),
		"expires_in":                int(s.cfg.DeviceCodeTTL / time.Second),
		"interval":                  dc.Interval,
	})
	return nil
}

// createCode draws codes until the user code is free (collisions are rare:
// 20^8 codes) and stores the pending row.
func (s *Server) createCode(clientID, label, scope, ip string) (string, store.DeviceCode, error) {
	for range 5 {
		deviceCode, err := tokens.NewDeviceCode()
		if err != nil {
			return "", store.DeviceCode{}, err
		}
		userCode, err := tokens.NewUserCode()
		if err != nil {
			return "", store.DeviceCode{}, err
		}
		now := s.now()
		dc := store.DeviceCode{Hash: tokens.HashOf(deviceCode), UserCode: userCode, ClientID: clientID,
			DeviceLabel: label, Scope: scope, RequesterIP: ip, Interval: int(s.cfg.PollInterval / time.Second),
			CreatedAt: now, ExpiresAt: now.Add(s.cfg.DeviceCodeTTL)}
		err = s.store.CreateDeviceCode(dc)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		return deviceCode, dc, err
	}
	return "", store.DeviceCode{}, errors.New("could not draw a free user code")
}

// checkScope accepts an empty scope or one made only of scopes some token
// kind grants; the granted scope is always the kind's own.
func checkScope(scope string) error {
	for _, sc := range strings.Fields(scope) {
		if !tokens.Account.HasScope(sc) && !tokens.External.HasScope(sc) {
			return oauthErr("invalid_scope", "unknown scope requested")
		}
	}
	if len(scope) > 256 {
		return oauthErr("invalid_scope", "scope too long")
	}
	return nil
}

// client resolves the calling client from the client_id parameter or HTTP
// Basic credentials (golang.org/x/oauth2 tries both); the two must agree.
func (s *Server) client(r *http.Request, p params) (store.Client, error) {
	id, fromBasic, err := clientID(r, p)
	if err != nil {
		return store.Client{}, err
	}
	c, err := s.store.Client(id)
	if errors.Is(err, store.ErrNotFound) {
		ae := *errUnknownClient
		if fromBasic {
			ae.Status, ae.BasicAuth = http.StatusUnauthorized, true
		}
		return c, &ae
	}
	return c, err
}

func clientID(r *http.Request, p params) (string, bool, error) {
	id := p["client_id"]
	user, _, hasBasic := r.BasicAuth()
	if hasBasic {
		user = unescapeBasic(user)
		if id != "" && id != user {
			return "", false, oauthErr("invalid_request", "client_id differs between body and Authorization header")
		}
		id = user
	}
	if id == "" {
		return "", false, oauthErr("invalid_request", "client_id is required")
	}
	if len(id) > 128 {
		return "", false, errUnknownClient
	}
	return id, hasBasic, nil
}

// unescapeBasic undoes the form-encoding RFC 6749 §2.3.1 applies to Basic
// credentials.
func unescapeBasic(v string) string {
	if u, err := url.QueryUnescape(v); err == nil {
		return u
	}
	return v
}

// handleToken is the poll (RFC 8628 §3.4-3.5).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	if err := checkGrantType(r, p); err != nil {
		return err
	}
	client, err := s.client(r, p)
	if err != nil {
		return err
	}
	code := p["device_code"]
	if code == "" {
		return oauthErr("invalid_request", "device_code is required")
	}
	if len(code) > 256 {
		return errInvalidGrant
	}
	return s.poll(w, r, tokens.HashOf(code), client.ID)
}

func checkGrantType(r *http.Request, p params) error {
	gt, ok := p["grant_type"]
	if !ok {
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			return nil
		}
		return oauthErr("invalid_request", "grant_type is required")
	}
	if gt != DeviceGrantType {
		return oauthErr("unsupported_grant_type", "only the device_code grant is supported here")
	}
	return nil
}

// poll judges a known code: read-only unless the code is approved, in which
// case one transaction consumes it and mints the token.
func (s *Server) poll(w http.ResponseWriter, r *http.Request, h tokens.Hash, clientID string) error {
	dc, err := s.store.DeviceCodeByHash(h)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errInvalidGrant
	case err != nil:
		return err
	case dc.ClientID != clientID:
		return errInvalidGrant
	case dc.Expired(s.now()):
		return errExpiredToken
	}
	if iv := s.pacer.poll(h, s.now(), time.Duration(dc.Interval)*time.Second, dc.ExpiresAt); iv > 0 {
		ae := *oauthErr("slow_down", "polling too fast; wait the interval between polls")
		ae.Interval = int(iv / time.Second)
		return &ae
	}
	return s.answer(w, r, h, dc, s.cfg.HoldPolls)
}

// answer replies to a paced poll by the code's state; a pending code may be
// held until it is resolved.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, h tokens.Hash, dc store.DeviceCode, mayHold bool) error {
	switch {
	case dc.Expired(s.now()):
		return errExpiredToken
	case dc.Status == store.StatusPending && mayHold:
		return s.hold(w, r, h, dc)
	case dc.Status == store.StatusPending:
		return errPending
	case dc.Status == store.StatusDenied:
		return errAccessDenied
	}
	return s.mint(w, r, h, dc)
}

// hold waits for the code to be resolved (or the interval to pass, or the
// client to leave, or shutdown), then answers from the state it finds.
func (s *Server) hold(w http.ResponseWriter, r *http.Request, h tokens.Hash, dc store.DeviceCode) error {
	wait := holdFor(time.Duration(dc.Interval)*time.Second, dc.ExpiresAt, s.now())
	resolved, ok := s.holds.acquire(h)
	if !ok {
		return errPending
	}
	defer s.holds.release(h)
	// Read again after registering, so a resolution in between is not missed.
	if dc, err := s.store.DeviceCodeByHash(h); err != nil || dc.Status != store.StatusPending || wait <= 0 {
		return s.reanswer(w, r, h, dc, err)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-resolved:
	case <-t.C:
	case <-s.stop:
	case <-r.Context().Done():
		return errPending
	}
	dc, err := s.store.DeviceCodeByHash(h)
	return s.reanswer(w, r, h, dc, err)
}

func (s *Server) reanswer(w http.ResponseWriter, r *http.Request, h tokens.Hash, dc store.DeviceCode, err error) error {
	if err != nil {
		return pollError(err)
	}
	return s.answer(w, r, h, dc, false)
}

// mint consumes an approved code and answers with the token. The plaintext
// exists only in this response.
func (s *Server) mint(w http.ResponseWriter, r *http.Request, h tokens.Hash, dc store.DeviceCode) error {
	kind, ttl := s.kindFor(dc.Subject)
	plain, th, err := kind.New()
	if err != nil {
		return err
	}
	id, err := newID("tok_")
	if err != nil {
		return err
	}
	iss, err := s.store.ConsumeDeviceCode(store.Mint{DeviceHash: h, ClientID: dc.ClientID, Kind: kind, NewID: id,
		TokenHash: th, Prefix: tokens.DisplayPrefix(plain), TTL: ttl, IP: s.clientIP(r), Now: s.now()})
	if err != nil {
		return pollError(err)
	}
	s.pacer.forget(h)
	s.spent.add(dc.UserCode, dc.ExpiresAt, s.now())
	s.metrics.tokenIssued(iss.Rotated)
	s.log.Info("token issued", slog.String("token_id", iss.Token.ID), slog.String("hash", th.Short()),
		slog.String("client_id", dc.ClientID), slog.Bool("rotated", iss.Rotated))
	body, err := s.tokenResponse(plain, kind, iss.Token)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// pollError maps a losing consume (a concurrent poll won, or the state moved
// on between read and write) to its OAuth answer.
func pollError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrWrongClient):
		return errInvalidGrant
	case errors.Is(err, store.ErrDenied):
		return errAccessDenied
	case errors.Is(err, store.ErrExpired):
		return errExpiredToken
	case errors.Is(err, store.ErrPending):
		return errPending
	}
	return err
}

func (s *Server) kindFor(subj *store.Subject) (tokens.Kind, time.Duration) {
	if subj != nil && subj.Type == tokens.External.SubjectType {
		return tokens.External, days(s.cfg.ExternalTTLDays)
	}
	return tokens.Account, days(s.cfg.TokenTTLDays)
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// handleLookup pre-validates a user code for the approval page.
func (s *Server) handleLookup(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if err := s.checkGuess(r); err != nil {
		return err
	}
	raw, err := queryParam(r, "user_code")
	if err != nil {
		return err
	}
	code, err := tokens.NormalizeUserCode(raw)
	if err != nil {
		s.chargeMiss(r)
		writeJSON(w, http.StatusBadRequest, map[string]any{"valid": false, "error": "invalid_request",
			"error_description": "that is not a code Gatehouse issues"})
		return nil
	}
	dc, err := s.store.DeviceCodeByUserCode(code)
	now := s.now()
	if errors.Is(err, store.ErrNotFound) || err == nil && (dc.Expired(now) || dc.Status != store.StatusPending) {
		if err == nil {
			s.chargeMiss(r) // decided or expired: it exists, so it was no guess
		} else {
			s.chargeUnknown(r, code)
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"valid": false, "error": "expired_or_unknown",
			"error_description": "the code is invalid or has expired"})
		return nil
	}
	if err != nil {
		return err
	}
	name := dc.ClientID
	if c, err := s.store.Client(dc.ClientID); err == nil {
		name = c.Name
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"valid": true, "user_code": tokens.FormatUserCode(dc.UserCode), "client_id": dc.ClientID,
		"client_name": name, "device_label": dc.DeviceLabel, "requester_ip": dc.RequesterIP,
		"age_seconds": int(now.Sub(dc.CreatedAt) / time.Second), "created_at": dc.CreatedAt.UTC(),
		"expires_in_remaining": int(dc.ExpiresAt.Sub(now) / time.Second),
		"sso":                  s.cfg.SSO.Enabled(),
	})
	return nil
}
