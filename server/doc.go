// Package server is Gatehouse's HTTP surface: one route table (routes.go),
// the handlers behind it, the middleware that guards them, the admin socket,
// and the Run/Close lifecycle that owns the store.
//
// Handlers return errors; one function (writeError) turns an error into a
// response, so internals are logged once and never shown. Nothing here may
// log a token, code, password or cookie value: only ids and hash prefixes.
package server
