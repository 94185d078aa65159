package server

import (
	"sync"
	"time"

	"gatehouse/tokens"
)

// Held polls: a poll that finds its code pending may wait, up to the poll
// interval, and be answered the moment the code is approved or denied, so a
// standard polling client gets its token within milliseconds of approval.

// maxHold bounds one hold well inside the server's write timeout.
const maxHold = 20 * time.Second

// holds tracks waiting polls per code, bounded by cap.
type holds struct {
	mu    sync.Mutex
	cap   int
	n     int
	codes map[tokens.Hash]*holdEntry
}

type holdEntry struct {
	ch      chan struct{} // closed when the code is resolved
	waiters int
}

func newHolds(limit int) *holds {
	return &holds{cap: limit, codes: map[tokens.Hash]*holdEntry{}}
}

// acquire registers a waiter for h; ok=false when the cap is reached (the
// poll is then answered at once, as without holding).
func (hs *holds) acquire(h tokens.Hash) (<-chan struct{}, bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.n >= hs.cap {
		return nil, false
	}
	e := hs.codes[h]
	if e == nil {
		e = &holdEntry{ch: make(chan struct{})}
		hs.codes[h] = e
	}
	e.waiters++
	hs.n++
	return e.ch, true
}

// release ends one wait; the last waiter of an unresolved code drops it.
func (hs *holds) release(h tokens.Hash) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.n--
	if e := hs.codes[h]; e != nil {
		if e.waiters--; e.waiters == 0 {
			delete(hs.codes, h)
		}
	}
}

// resolved wakes every poll held on h. Called by the store after commit.
func (hs *holds) resolved(h tokens.Hash) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if e := hs.codes[h]; e != nil {
		close(e.ch)
		delete(hs.codes, h)
	}
}

// held reports how many polls are waiting now.
func (hs *holds) held() int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.n
}

// holdFor is how long a pending poll may wait: the code's interval, capped
// by maxHold and the code's remaining life.
func holdFor(interval time.Duration, expires, now time.Time) time.Duration {
	return max(0, min(interval, maxHold, expires.Sub(now)))
}
