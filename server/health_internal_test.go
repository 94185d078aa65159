package server

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"gatehouse/store"
)

// TestReadyzFailsWhenTheStoreTakesNoWrites: a closed store (as good as a
// read-only or failed disk for this purpose) makes the instance unready,
// and the answer names the failed check, never the error.
func TestReadyzFailsWhenTheStoreTakesNoWrites(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{store: st, key: make([]byte, MinKeyBytes), log: discardLogger(), now: time.Now, stop: make(chan struct{})}
	if code, body := readyz(t, s); code != 200 || body["status"] != "ready" {
		t.Fatalf("open store: %d %v", code, body)
	}
	st.Close()
	s.ready.at = time.Time{} // forget the cached probe
	code, body := readyz(t, s)
	checks, _ := body["checks"].(map[string]any)
	if code != 503 || body["status"] != "unavailable" || checks["store"] != "failed" || checks["key"] != "ok" {
		t.Fatalf("closed store: %d %v", code, body)
	}
	s.key = nil
	s.ready.at = time.Time{}
	if _, body := readyz(t, s); body["checks"].(map[string]any)["key"] != "failed" {
		t.Fatalf("no key: %v", body)
	}
}

func readyz(t *testing.T, s *Server) (int, map[string]any) {
	t.Helper()
	w := httptest.NewRecorder()
	if err := s.handleReadyz(w, httptest.NewRequest("GET", "/readyz", nil), nil); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	return w.Code, body
}
