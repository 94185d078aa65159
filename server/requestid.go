package server

import (
	"net/http"

	"gatehouse/tokens"
)

// HeaderRequestID carries the request id in both directions.
const HeaderRequestID = "X-Request-Id"

// maxRequestID bounds an accepted incoming id.
const maxRequestID = 128

// requestIDs gives every request an id, echoed in the response and put on
// error log lines. An incoming id is kept only from a trusted proxy (one
// that makes its own, like nginx's $request_id) and only if it is short and
// plain; anyone else's is replaced, so clients cannot forge log entries.
// The id is stored back into the request header: later code reads it from
// there, nothing hides it in a context.
func (s *Server) requestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vals := r.Header.Values(HeaderRequestID)
		id := ""
		if len(vals) == 1 && s.ips.PeerTrusted(r) && saneRequestID(vals[0]) {
			id = vals[0]
		}
		if id == "" {
			id = newRequestID()
		}
		r.Header.Set(HeaderRequestID, id)
		w.Header().Set(HeaderRequestID, id)
		next.ServeHTTP(w, r)
	})
}

// requestID is the id requestIDs gave r.
func requestID(r *http.Request) string { return r.Header.Get(HeaderRequestID) }

func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	id, err := tokens.RandomString(12)
	if err != nil {
		return "unavailable"
	}
	return id
}
