package server

import (
	"log/slog"
	"sync"
	"time"

	"gatehouse/store"
)

// usageEvery is how often a token's use may be written, whoever used it (a
// bearer check, or a resource server's introspection).
const usageEvery = time.Minute

// usage batches last_used_at and last_seen_by writes off the request path: a
// bearer check or an introspection only notes the time in memory, and a
// background loop writes the notes in one transaction: at most one write
// per token per minute.
type usage struct {
	mu      sync.Mutex
	pending map[string]store.TokenUse // by token id, to write
	noted   map[string]time.Time      // by token id: when its last written note was taken
}

func newUsage() *usage {
	return &usage{pending: map[string]store.TokenUse{}, noted: map[string]time.Time{}}
}

// touch notes a bearer use; cheap, and a no-op within usageEvery of the
// last note.
func (u *usage) touch(id string, now time.Time) { u.note(id, "", now) }

// seen notes that resource server rs introspected the token: a use, and
// who saw it last.
func (u *usage) seen(id, rs string, now time.Time) { u.note(id, rs, now) }

func (u *usage) note(id, rs string, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, pending := u.pending[id]
	if last, ok := u.noted[id]; ok && now.Sub(last) < usageEvery && !pending {
		return // written within the minute: at most one write per token per minute
	}
	if !pending {
		u.noted[id] = now
	}
	// While a note waits for the next flush, later uses merge into it for
	// free: the write carries the latest time and resource server.
	p.At = now
	if rs != "" {
		p.Resource, p.SeenAt = rs, now
	}
	u.pending[id] = p
}

// take hands over the pending notes and forgets stale ones.
func (u *usage) take(now time.Time) map[string]store.TokenUse {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := u.pending
	u.pending = map[string]store.TokenUse{}
	for key, at := range u.noted {
		if now.Sub(at) >= usageEvery {
			delete(u.noted, key)
		}
	}
	return out
}

// flushUsage writes pending notes; called by the loop and at shutdown.
func (s *Server) flushUsage() {
	if err := s.store.RecordUses(s.usage.take(s.now())); err != nil {
		s.log.Error("writing token usage failed", slog.Any("err", err))
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
