package server

import (
	"sync"
	"time"
)

// spentCodes remembers, in memory, the user codes whose token was handed
// out, until the code would have expired. Consume-on-poll deletes a code
// with its user_code index, so without this a person reloading
// /device?user_code=… after their CLI logged in would look like a guesser
// and spend the global guess budget everyone shares. A spent code cannot be
// a hit, so not charging the shared budget for it keeps the RFC 8628 bound.
// Bounded; forgotten on restart (the reload is then charged as before).
type spentCodes struct {
	mu    sync.Mutex
	until map[string]time.Time
	max   int
}

const maxSpentCodes = 100_000

func newSpentCodes(max int) *spentCodes {
	return &spentCodes{until: make(map[string]time.Time), max: max}
}

// add remembers code until its expiry; at the cap it first drops expired
// entries, then (a flood) arbitrary ones.
func (sc *spentCodes) add(code string, until, now time.Time) {
	if !now.Before(until) {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.until) >= sc.max {
		for c, u := range sc.until {
			if !now.Before(u) {
				delete(sc.until, c)
			}
		}
		for c := range sc.until {
			if len(sc.until) < sc.max {
				break
			}
			delete(sc.until, c)
		}
	}
	sc.until[code] = until
}

// has reports whether code was spent and would still be live.
func (sc *spentCodes) has(code string, now time.Time) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	u, ok := sc.until[code]
	return ok && now.Before(u)
}
