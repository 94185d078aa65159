package server

import (
	"log/slog"
	"sync"
	"time"
)

// usageEvery is how often a token's last_used_at may be written.
const usageEvery = time.Minute

// usage batches last_used_at writes off the request path: a bearer check
// only notes the time in memory (at most once a minute per token), and a
// background loop writes the notes in one transaction.
type usage struct {
	mu      sync.Mutex
	pending map[string]time.Time // to write
	noted   map[string]time.Time // last noted, to skip repeats within usageEvery
}

func newUsage() *usage {
	return &usage{pending: map[string]time.Time{}, noted: map[string]time.Time{}}
}

// touch notes a use; cheap, and a no-op within usageEvery of the last note.
func (u *usage) touch(id string, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if last, ok := u.noted[id]; ok && now.Sub(last) < usageEvery {
		return
	}
	u.noted[id], u.pending[id] = now, now
}

// take hands over the pending notes and forgets stale ones.
func (u *usage) take(now time.Time) map[string]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := u.pending
	u.pending = map[string]time.Time{}
	for id, at := range u.noted {
		if now.Sub(at) >= usageEvery {
			delete(u.noted, id)
		}
	}
	return out
}

// flushUsage writes pending notes; called by the loop and at shutdown.
func (s *Server) flushUsage() {
	if err := s.store.TouchTokens(s.usage.take(s.now())); err != nil {
		s.log.Error("writing last_used_at failed", slog.Any("err", err))
	}
}

func (s *Server) usageLoop() {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.flushUsage()
		}
	}
}
