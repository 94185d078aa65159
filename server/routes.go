package server

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// handler is what every route implements: it returns an error instead of
// writing one, and writeError answers it.
type handler func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error

// routes is the one route table: reading it tells the whole public surface
// and what guards each route.
func (s *Server) routes() http.Handler {
	rt := httprouter.New()
	rt.HandleMethodNotAllowed = true
	rt.RedirectTrailingSlash = false
	rt.RedirectFixedPath = false
	rt.NotFound = s.instrumentUnmatched(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errNotFoundRoute) })
	rt.MethodNotAllowed = s.instrumentUnmatched(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errMethod) })
	rt.PanicHandler = func(w http.ResponseWriter, r *http.Request, v any) { s.recovered(w, r, v) }

	// RFC 8628 device flow (no cookies; CLI clients).
	s.handle(rt, "POST", "/v1/oauth/device/code", s.oauth(s.countCodes(s.handleDeviceCode)))
	s.handle(rt, "POST", "/v1/oauth/device/token", s.oauth(s.countPolls(s.handleToken)))
	s.handle(rt, "GET", "/v1/oauth/device/lookup", s.oauth(s.handleLookup))

	// Console API (session cookie; POSTs need X-CSRF-Token and same Origin).
	s.handle(rt, "POST", "/console/api/login", s.oauth(s.handleLogin))
	s.handle(rt, "GET", "/console/api/session", s.oauth(s.handleSession))
	s.handle(rt, "POST", "/console/api/logout", s.oauth(s.withSession(s.handleLogout)))
	s.handle(rt, "POST", "/console/api/oauth/device/approve", s.oauth(s.countResolution("local", "approve", s.withSession(s.handleApprove))))
	s.handle(rt, "POST", "/console/api/oauth/device/deny", s.oauth(s.countResolution("local", "deny", s.withSession(s.handleDeny))))

	// My devices and the admin view (console_devices.go, console_admin.go):
	// reads need the session, revokes also Origin and X-CSRF-Token, and the
	// admin routes the admin role.
	s.handle(rt, "GET", "/console/api/devices", s.oauth(s.sessionRead(s.handleMyDevices)))
	s.handle(rt, "POST", "/console/api/devices/revoke", s.oauth(s.withSession(s.handleRevokeMyDevice)))
	s.handle(rt, "POST", "/console/api/devices/revoke-all", s.oauth(s.withSession(s.handleRevokeAllMyDevices)))
	s.handle(rt, "GET", "/console/api/admin/tokens", s.oauth(s.sessionRead(adminOnly(s.handleAdminTokens))))
	s.handle(rt, "POST", "/console/api/admin/revoke", s.oauth(s.withSession(adminOnly(s.handleAdminRevoke))))
	s.handle(rt, "GET", "/console/api/admin/audit", s.oauth(s.sessionRead(adminOnly(s.handleAdminAudit))))
	s.handle(rt, "GET", "/console/api/admin/stats", s.oauth(s.sessionRead(adminOnly(s.handleAdminStats))))
	s.handle(rt, "GET", "/console/api/admin/daily", s.oauth(s.sessionRead(adminOnly(s.handleAdminDaily))))

	// External SSO branch (sso.go). Mounted only when SSO is configured: with
	// it off these paths are unknown routes (bare 404) and do no work at all.
	if s.cfg.SSO.Enabled() {
		s.handle(rt, "GET", "/v1/oauth/device/sso-initiate", s.oauth(s.handleSSOInitiate))
		s.handle(rt, "GET", "/v1/device/sso-complete", s.oauth(s.handleSSOComplete))
		s.handle(rt, "GET", "/v1/oauth/device/approval-context", s.oauth(s.handleApprovalContext))
		s.handle(rt, "POST", "/v1/oauth/device/approve-external", s.oauth(s.countResolution("sso", "approve", s.handleApproveExternal)))
		s.handle(rt, "POST", "/v1/oauth/device/deny-external", s.oauth(s.countResolution("sso", "deny", s.handleDenyExternal)))
		// My devices for SSO subjects (devices_sso.go): the devices cookie,
		// Origin, and X-CSRF-Token on POSTs.
		s.handle(rt, "GET", "/console/api/sso-devices", s.oauth(s.ssoDevicesRead(s.handleSSODevices)))
		s.handle(rt, "POST", "/console/api/sso-devices/revoke", s.oauth(s.ssoDevicesWrite(s.handleSSORevokeDevice)))
		s.handle(rt, "POST", "/console/api/sso-devices/revoke-all", s.oauth(s.ssoDevicesWrite(s.handleSSORevokeAllDevices)))
		s.handle(rt, "POST", "/console/api/sso-devices/signout", s.oauth(s.ssoDevicesWrite(s.handleSSODevicesSignOut)))
	}

	// Bearer routes (RFC 6750).
	s.handle(rt, "GET", "/v1/me", s.oauth(s.withBearer(s.handleMe)))
	s.handle(rt, "GET", "/v1/oauth/authorizations", s.oauth(s.withBearer(s.handleListAuthorizations)))
	s.handle(rt, "DELETE", "/v1/oauth/authorizations/:id", s.oauth(s.revokeAuthorizationRoute())) // ":id" or "self"

	// Ecosystem: discovery (RFC 8414), revocation (RFC 7009), introspection
	// for registered resource servers (RFC 7662, Basic auth), and forward
	// auth for reverse proxies (bearer, RFC 6750 answers).
	s.handleGetHead(rt, pathMetadata, s.handleMetadata)
	s.handle(rt, "POST", pathRevoke, s.oauth(s.handleRevoke))
	s.handle(rt, "POST", pathIntrospect, s.oauth(s.handleIntrospect))
	s.handle(rt, "GET", "/v1/auth/verify", s.oauth(s.withBearer(s.handleVerify)))
	s.handle(rt, "HEAD", "/v1/auth/verify", s.oauth(s.withBearer(s.handleVerify)))

	// Operations: liveness, readiness, Prometheus (unless --metrics-listen
	// moves it to its own listener).
	s.handleGetHead(rt, "/healthz", s.oauth(s.handleHealthz))
	s.handleGetHead(rt, "/readyz", s.oauth(s.handleReadyz))
	if s.cfg.MetricsListen == "" {
		s.handle(rt, "GET", "/metrics", s.handleMetrics)
	}

	// Pages and their assets.
	s.handleGetHead(rt, "/", s.handleRoot)
	s.handleGetHead(rt, "/device", s.page("device"))
	s.handleGetHead(rt, "/signin", s.page("signin"))
	s.handleGetHead(rt, "/account/devices", s.page("devices"))
	s.handleGetHead(rt, "/admin", s.page("admin"))
	s.handleGetHead(rt, "/assets/*file", s.handleAsset)
	return s.requestIDs(s.secureHeaders(rt))
}

// handle mounts h on the router with the error writer around it.
func (s *Server) handle(rt *httprouter.Router, method, path string, h handler) {
	rt.Handle(method, path, s.instrument(path, func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if err := h(w, r, ps); err != nil {
			s.writeError(w, r, err)
		}
	}))
}

// handleGetHead mounts a read-only route for GET and HEAD (health monitors
// and link checkers send HEAD; net/http drops the body). Routes that spend
// a budget or a code guess stay GET only.
func (s *Server) handleGetHead(rt *httprouter.Router, path string, h handler) {
	s.handle(rt, http.MethodGet, path, h)
	s.handle(rt, http.MethodHead, path, h)
}

// oauth marks the answer uncacheable, as every OAuth and console answer is.
func (s *Server) oauth(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		noStore(w)
		return h(w, r, ps)
	}
}

func (s *Server) recovered(w http.ResponseWriter, r *http.Request, v any) {
	s.log.Error("panic in handler", "path", r.URL.Path, "request_id", requestID(r), "panic", v)
	s.writeError(w, r, errInternal)
}
