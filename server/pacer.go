package server

import (
	"sync"
	"time"

	"gatehouse/tokens"
)

// Poll pacing (RFC 8628 §3.5) lives in memory, per device code: a pending
// poll writes nothing to disk.
const (
	// pairWindow tolerates golang.org/x/oauth2's auth-style probe: with the
	// default auth style it sends the same poll twice, a few ms apart, on
	// every tick. One such extra poll per accepted poll is free.
	pairWindow = 2 * time.Second
	// paceSlack forgives timer jitter: a poll that comes a little early
	// still counts as on time.
	paceSlack = 800 * time.Millisecond
	// slowDownStep is how much each violation adds (RFC 8628 §3.5).
	slowDownStep = 5 * time.Second
	// maxPaced bounds memory: codes beyond this are paced from scratch.
	maxPaced = 1 << 20
)

type paceState struct {
	last     time.Time // last accepted poll (monotonic)
	interval time.Duration
	pairUsed bool
	expires  time.Time
}

type pacer struct {
	mu    sync.Mutex
	codes map[tokens.Hash]*paceState
}

func newPacer() *pacer { return &pacer{codes: make(map[tokens.Hash]*paceState)} }

// poll records a poll for a known code and returns zero when it may proceed,
// or the raised interval when the client must slow down. Rejected polls do
// not move the window.
func (p *pacer) poll(h tokens.Hash, now time.Time, base time.Duration, expires time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.codes[h]
	if !ok {
		if len(p.codes) < maxPaced {
			p.codes[h] = &paceState{last: now, interval: base, expires: expires}
		}
		return 0
	}
	gap := now.Sub(st.last)
	switch {
	case gap < 0:
		// The clock stepped back (time.Now's monotonic reading never does,
		// an injected or wall clock can): start a fresh window instead of
		// slowing the code until the clock catches up with st.last.
		st.last, st.pairUsed = now, false
		return 0
	case gap >= st.interval-paceSlack:
		st.last, st.pairUsed = now, false
		return 0
	case gap < pairWindow && !st.pairUsed:
		st.pairUsed = true
		return 0
	}
	st.interval += slowDownStep
	return st.interval
}

// forget drops a code's state once it is consumed.
func (p *pacer) forget(h tokens.Hash) {
	p.mu.Lock()
	delete(p.codes, h)
	p.mu.Unlock()
}

// sweep forgets codes past their expiry.
func (p *pacer) sweep(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for h, st := range p.codes {
		if now.After(st.expires) {
			delete(p.codes, h)
		}
	}
}

// size reports how many codes are paced.
func (p *pacer) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.codes)
}
