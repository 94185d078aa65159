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
	rt.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errNotFoundRoute) })
	rt.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errMethod) })
	rt.PanicHandler = func(w http.ResponseWriter, r *http.Request, v any) { s.recovered(w, r, v) }

	// RFC 8628 device flow (no cookies; CLI clients).
	s.handle(rt, "POST", "/v1/oauth/device/code", s.oauth(s.handleDeviceCode))
	s.handle(rt, "POST", "/v1/oauth/device/token", s.oauth(s.handleToken))
	s.handle(rt, "GET", "/v1/oauth/device/lookup", s.oauth(s.handleLookup))

	// Console API (session cookie; POSTs need X-CSRF-Token and same Origin).
	s.handle(rt, "POST", "/console/api/login", s.oauth(s.handleLogin))
	s.handle(rt, "GET", "/console/api/session", s.oauth(s.handleSession))
	s.handle(rt, "POST", "/console/api/logout", s.oauth(s.withSession(s.handleLogout)))
	s.handle(rt, "POST", "/console/api/oauth/device/approve", s.oauth(s.withSession(s.handleApprove)))
	s.handle(rt, "POST", "/console/api/oauth/device/deny", s.oauth(s.withSession(s.handleDeny)))

	// Bearer routes (RFC 6750).
	s.handle(rt, "GET", "/v1/me", s.oauth(s.withBearer(s.handleMe)))
	s.handle(rt, "GET", "/v1/oauth/authorizations", s.oauth(s.withBearer(s.handleListAuthorizations)))
	s.handle(rt, "DELETE", "/v1/oauth/authorizations/:id", s.oauth(s.revokeAuthorizationRoute())) // ":id" or "self"

	// Pages and their assets.
	s.handle(rt, "GET", "/", s.handleRoot)
	s.handle(rt, "GET", "/device", s.page("device"))
	s.handle(rt, "GET", "/signin", s.page("signin"))
	s.handle(rt, "GET", "/assets/*file", s.handleAsset)
	return s.secureHeaders(rt)
}

// handle mounts h on the router with the error writer around it.
func (s *Server) handle(rt *httprouter.Router, method, path string, h handler) {
	rt.Handle(method, path, func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if err := h(w, r, ps); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// oauth marks the answer uncacheable, as every OAuth and console answer is.
func (s *Server) oauth(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		noStore(w)
		return h(w, r, ps)
	}
}

func (s *Server) recovered(w http.ResponseWriter, r *http.Request, v any) {
	s.log.Error("panic in handler", "path", r.URL.Path, "panic", v)
	s.writeError(w, r, errInternal)
}
