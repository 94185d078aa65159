package server_test

import (
	"testing"
	"time"

	"gatehouse/server"
)

func holding(c *server.Config) {
	c.Now = time.Now
	c.HoldPolls = true
	c.PollInterval = 3 * time.Second
}

// TestHeldPollAnswersOnApproval: a poll on a pending code is held and gets
// the token as soon as the code is approved, not at the next interval.
func TestHeldPollAnswersOnApproval(t *testing.T) {
	ts := startServer(t, holding)
	b := ts.signIn(testEmail, testPassword)
	dc, uc := ts.startFlow("laptop")
	type result struct {
		status int
		body   map[string]any
		took   time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		st, body := ts.poll(dc)
		done <- result{st, body, time.Since(start)}
	}()
	time.Sleep(300 * time.Millisecond)
	b.approve(uc)
	select {
	case r := <-done:
		if r.status != 200 || r.body["access_token"] == nil {
			t.Fatalf("held poll: %d %v", r.status, r.body)
		}
		if r.took >= 3*time.Second {
			t.Fatalf("held poll answered after the whole interval (%v), not on approval", r.took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("held poll never answered")
	}
}

// TestHeldPollAnswersPendingAfterInterval: with nothing happening, a held
// poll answers authorization_pending after about the interval.
func TestHeldPollAnswersPendingAfterInterval(t *testing.T) {
	ts := startServer(t, holding)
	dc, _ := ts.startFlow("laptop")
	start := time.Now()
	st, body := ts.poll(dc)
	if st != 400 || body["error"] != "authorization_pending" {
		t.Fatalf("held pending poll: %d %v", st, body)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("a pending poll was not held (answered after %v)", took)
	}
}

// TestShutdownReleasesHeldPolls: Close answers held polls instead of
// waiting for their intervals.
func TestShutdownReleasesHeldPolls(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { holding(c); c.PollInterval = 20 * time.Second })
	dc, _ := ts.startFlow("laptop")
	done := make(chan map[string]any, 1)
	go func() { _, body := ts.poll(dc); done <- body }()
	time.Sleep(300 * time.Millisecond)
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case body := <-done:
		if body["error"] != "authorization_pending" {
			t.Fatalf("held poll at shutdown: %v", body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown left a held poll hanging")
	}
}
