package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"gatehouse/server/clientip"
)

// FuzzRequestID: whatever a trusted proxy sends, the id echoed (and logged)
// is short and plain, so it can never break a log line or a header.
func FuzzRequestID(f *testing.F) {
	for _, seed := range []string{"", "abc-123", "a b", "x\r\nSet-Cookie: y", string(make([]byte, 200)), "é"} {
		f.Add(seed)
	}
	trusted, _ := clientip.ParseTrusted("192.0.2.1")
	s := &Server{ips: clientip.Resolver{Trusted: trusted}}
	h := s.requestIDs(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	f.Fuzz(func(t *testing.T, incoming string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = "192.0.2.1:1234"
		req.Header[HeaderRequestID] = []string{incoming}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		got := w.Header().Get(HeaderRequestID)
		if !saneRequestID(got) {
			t.Fatalf("echoed id %q is not sane", got)
		}
		if saneRequestID(incoming) && got != incoming {
			t.Fatalf("a trusted proxy's sane id %q was replaced by %q", incoming, got)
		}
	})
}
