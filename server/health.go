package server

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"
)

// readyEvery bounds how often /readyz writes to the store: probes are
// unauthenticated, so a flood of them must not become a flood of fsyncs.
const readyEvery = time.Second

// readiness caches the last store probe.
type readiness struct {
	mu  sync.Mutex
	at  time.Time // wall clock: a rate guard, not a domain decision
	err error
}

// handleHealthz says the process is up and serving HTTP; nothing more.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// handleReadyz says whether this instance can do its job: the store takes
// a write and the secret key is loaded. Failures are logged, never shown.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	checks := map[string]string{"store": "ok", "key": "ok"}
	if err := s.probeStore(); err != nil {
		s.log.Error("readiness: store not writable", slog.String("request_id", requestID(r)), slog.Any("err", err))
		checks["store"] = "failed"
	}
	// A tiny probe can succeed in pages the file already has while real
	// writes are refused (disk full): the last refused write counts until
	// a real write succeeds again.
	if at, err := s.store.WriteFault(); err != nil {
		s.log.Warn("readiness: the disk refused a write and none has succeeded since",
			slog.Time("at", at), slog.Any("err", err))
		checks["store"] = "failed"
	}
	if len(s.key) < MinKeyBytes {
		checks["key"] = "failed"
	}
	status, code := "ready", http.StatusOK
	if checks["store"] != "ok" || checks["key"] != "ok" || s.stopping() {
		status, code = "unavailable", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "checks": checks})
	return nil
}

func (s *Server) probeStore() error {
	s.ready.mu.Lock()
	defer s.ready.mu.Unlock()
	if !s.ready.at.IsZero() && time.Since(s.ready.at) < readyEvery {
		return s.ready.err
	}
	s.ready.err, s.ready.at = s.store.Probe(s.now()), time.Now()
	return s.ready.err
}

func (s *Server) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}
