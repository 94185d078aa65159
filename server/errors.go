package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"gatehouse/store"
)

// apiError is every error a client may see: an OAuth-style code, a fixed
// description, a status, and the few extra fields some answers carry.
type apiError struct {
	Status      int
	Code        string
	Description string
	Interval    int  // slow_down: the new poll interval
	RetryAfter  int  // 429 and 503: seconds
	Bearer      bool // RFC 6750: add WWW-Authenticate
	BasicAuth   bool // invalid_client after Basic auth: WWW-Authenticate: Basic
}

func (e *apiError) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code, desc string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Description: desc}
}

func statusErr(status int, code, desc string) *apiError {
	return &apiError{Status: status, Code: code, Description: desc}
}

var (
	errNotFoundRoute = statusErr(http.StatusNotFound, "not_found", "no such endpoint")
	errMethod        = statusErr(http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this endpoint")
	errUnauthSession = statusErr(http.StatusUnauthorized, "unauthenticated", "sign in first")
	errCSRF          = statusErr(http.StatusForbidden, "csrf_failed", "missing or wrong X-CSRF-Token or Origin")
	errCodeGone      = statusErr(http.StatusNotFound, "expired_or_unknown", "the code is invalid or has expired")
	errResolved      = statusErr(http.StatusConflict, "already_resolved", "the code was already approved or denied")
	errInternal      = statusErr(http.StatusInternalServerError, "server_error", "internal error")
)

// writeError is the one place an error becomes a response. Errors that are
// not apiErrors are internal: logged here, answered as a bare 500, except a
// write the disk refused, answered 503 (diskFault, faults.go).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) && store.IsDiskFault(err) {
		ae = s.diskFault(r, err)
	}
	if ae == nil {
		s.log.Error("request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("request_id", requestID(r)), slog.Any("err", err))
		ae = errInternal
	}
	h := w.Header()
	if ae.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	if ae.Bearer {
		v := `Bearer realm="gatehouse"`
		if ae.Code != "" && ae.Code != "unauthenticated" {
			v += `, error="` + ae.Code + `"`
		}
		h.Set("WWW-Authenticate", v)
	}
	if ae.BasicAuth {
		h.Set("WWW-Authenticate", `Basic realm="gatehouse"`)
	}
	body := map[string]any{"error": ae.Code, "error_description": ae.Description}
	if ae.Interval > 0 {
		body["interval"] = ae.Interval
	}
	writeJSON(w, ae.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf, err := json.Marshal(v)
	if err != nil {
		status, buf = http.StatusInternalServerError, []byte(`{"error":"server_error","error_description":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)+1))
	w.WriteHeader(status)
	w.Write(append(buf, '\n'))
}
