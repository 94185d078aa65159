package server_test

import (
	"math/rand"
	"testing"
	"time"

	"gatehouse/server"
)

// Expiry is judged on the wall clock against the time stored in the record;
// pacing and waits must survive that clock stepping back and forth (NTP
// corrections, a VM resumed, an operator fixing the date). The injected
// clock has no monotonic reading, so it steps exactly like a wall clock.

// TestClockStepsNeverStretchAToken: whatever the clock does, a token is
// refused whenever the clock reads at or past its stored expiry, its
// expiry never moves, and once refused for expiry it stays dead even if the
// clock then steps back.
func TestClockStepsNeverStretchAToken(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.TokenTTLDays = 1 })
	b := ts.signIn(testEmail, testPassword)
	tok := ts.approvedToken(b, "laptop")["access_token"].(string)
	st, _, me := ts.me(tok)
	if st != 200 {
		t.Fatalf("fresh token: %d", st)
	}
	expires, err := time.Parse(time.RFC3339Nano, me["expires_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	dead := false
	for i := 0; i < 60; i++ {
		// Jumps of up to ±30 h around a 24 h lifetime, biased to cross it.
		ts.clock.Advance(time.Duration(rng.Int63n(int64(60*time.Hour))) - 30*time.Hour)
		now := ts.clock.Now()
		st, _, me := ts.me(tok)
		switch {
		case !now.Before(expires) && st != 401:
			t.Fatalf("step %d: clock %v is at or past expiry %v, token answers %d", i, now, expires, st)
		case !now.Before(expires):
			dead = true
		case dead && st != 401:
			t.Fatalf("step %d: the clock stepped back to %v, and a token already refused for expiry answers %d", i, now, st)
		case !dead && st != 200:
			t.Fatalf("step %d: clock %v is before expiry %v, token answers %d", i, now, expires, st)
		case !dead && me["expires_at"] != expires.UTC().Format(time.RFC3339Nano) && me["expires_at"] != expires.Format(time.RFC3339Nano):
			t.Fatalf("step %d: expires_at moved from %v to %v", i, expires, me["expires_at"])
		}
	}
	if !dead {
		t.Fatal("the walk never crossed the expiry; change the seed")
	}
}

// TestClockStepBackNeverStallsPolling: after the clock steps back an hour,
// a client polling at its interval is answered normally at once, not told
// to slow down until the clock catches up; polling too fast is still
// slowed; a step forward within the code's life costs nothing, and a code
// past its stored expiry answers expired_token.
func TestClockStepBackNeverStallsPolling(t *testing.T) {
	ts := startServer(t)
	b := ts.signIn(testEmail, testPassword)
	dc, uc := ts.startFlow("laptop")
	expect := func(step, want string) {
		t.Helper()
		if _, body := ts.poll(dc); body["error"] != want {
			t.Fatalf("%s: %v, want %s", step, body, want)
		}
	}
	expect("first poll", "authorization_pending")
	ts.clock.Advance(5 * time.Second)
	expect("on time", "authorization_pending")

	ts.clock.Advance(-time.Hour)
	for i := 0; i < 6; i++ {
		expect("polling at the interval after the clock stepped back", "authorization_pending")
		ts.clock.Advance(5 * time.Second)
	}
	ts.clock.Advance(-time.Hour)
	expect("first poll after another step back", "authorization_pending")
	expect("paired request", "authorization_pending")
	expect("too fast is still too fast", "slow_down")

	ts.clock.Advance(10 * time.Minute) // forward, inside the 15 min code life
	expect("after a step forward", "authorization_pending")
	b.approve(uc)
	ts.clock.Advance(20 * time.Second)
	if st, body := ts.poll(dc); st != 200 {
		t.Fatalf("approved code after the clock steps: %d %v", st, body)
	}

	dc2, uc2 := ts.startFlow("desktop")
	b.approve(uc2)
	ts.clock.Advance(16 * time.Minute) // past the stored expiry
	if _, body := ts.poll(dc2); body["error"] != "expired_token" {
		t.Fatalf("approved code past its expiry: %v, want expired_token", body)
	}
}

// TestClockStepsNeverStretchAHeldPoll: a held poll waits on a timer (the
// monotonic clock), capped by the interval, so a wall-clock step back
// cannot make it wait longer, and a code past its expiry is never held.
func TestClockStepsNeverStretchAHeldPoll(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.HoldPolls, c.PollInterval = true, time.Second })
	dc, _ := ts.startFlow("laptop")
	ts.clock.Advance(-24 * time.Hour)
	start := time.Now()
	if _, body := ts.poll(dc); body["error"] != "authorization_pending" {
		t.Fatalf("held poll after a step back: %v", body)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a held poll waited %v after the clock stepped back a day; the interval is 1s", d)
	}
	ts.clock.Advance(48 * time.Hour)
	start = time.Now()
	if _, body := ts.poll(dc); body["error"] != "expired_token" {
		t.Fatalf("poll past expiry: %v", body)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("a code past its expiry was held for %v", d)
	}
}
