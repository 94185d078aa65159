package server

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"gatehouse/tokens"
)

// Endpoint paths that the metadata document advertises.
const (
	pathDeviceCode = "/v1/oauth/device/code"
	pathToken      = "/v1/oauth/device/token"
	pathRevoke     = "/v1/oauth/revoke"
	pathIntrospect = "/v1/oauth/introspect"
	pathMetadata   = "/.well-known/oauth-authorization-server"
)

// handleMetadata is the RFC 8414 authorization server metadata: what a
// generic OAuth client needs to find every endpoint from the issuer alone.
// The issuer is the public URL, so it must be what clients are configured
// with (RFC 8414 §3.3: they compare it exactly).
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	base := s.cfg.PublicURL
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                        base,
		"device_authorization_endpoint": base + pathDeviceCode,
		"token_endpoint":                base + pathToken,
		"revocation_endpoint":           base + pathRevoke,
		"introspection_endpoint":        base + pathIntrospect,
		"grant_types_supported":         []string{DeviceGrantType},
		"response_types_supported":      []string{},
		"scopes_supported":              tokens.AllScopes(),
		// Device clients are public: they hold no secret (RFC 8628 §3.1).
		"token_endpoint_auth_methods_supported":      []string{"none"},
		"revocation_endpoint_auth_methods_supported": []string{"none"},
		// Introspection is for registered resource servers only (RFC 7662 §2.1).
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic"},
		"service_documentation":                         s.serviceDocs(),
	})
	return nil
}

// serviceDocs is where people read how to use this server: the operator's
// own page when given, else the approval page, which every install has.
func (s *Server) serviceDocs() string {
	if s.cfg.ServiceDocumentation != "" {
		return s.cfg.ServiceDocumentation
	}
	return s.cfg.PublicURL + "/device"
}
