package server

import (
	"fmt"
	"testing"
	"time"
)

// spentCodes forgets a code when it would have expired and never holds more
// than its cap, however many codes are spent.
func TestSpentCodesAreBoundedAndExpire(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sc := newSpentCodes(100)
	sc.add("BCDFGHJK", t0.Add(time.Minute), t0)
	if !sc.has("BCDFGHJK", t0.Add(59*time.Second)) || sc.has("BCDFGHJK", t0.Add(time.Minute)) {
		t.Error("a spent code is remembered exactly until its expiry")
	}
	sc.add("MNPQRSTV", t0, t0) // already expired: nothing to remember
	if sc.has("MNPQRSTV", t0) {
		t.Error("an expired code was remembered")
	}
	for i := range 1000 {
		sc.add(fmt.Sprintf("C%07d", i), t0.Add(time.Hour), t0)
	}
	if n := len(sc.until); n > 100 {
		t.Errorf("%d codes remembered, cap 100", n)
	}
	if !sc.has("C0000999", t0) {
		t.Error("the newest code was dropped to make room")
	}
}
