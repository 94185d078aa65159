package server

import (
	"testing"
	"time"
)

// TestUsageNotesUsesAndIntrospections: a bearer use and introspections of
// the same token merge into one pending write carrying the latest time and
// resource server.
func TestUsageNotesUsesAndIntrospections(t *testing.T) {
	u := newUsage()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	u.seen("tok", "wiki", t0)
	u.touch("tok", t0.Add(time.Second))
	u.seen("tok", "billing", t0.Add(3*time.Second))
	got := u.take(t0.Add(4 * time.Second))["tok"]
	if got.Resource != "billing" || !got.SeenAt.Equal(t0.Add(3*time.Second)) || !got.At.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("pending use: %+v", got)
	}
	if left := u.take(t0.Add(5 * time.Second)); len(left) != 0 {
		t.Fatalf("take did not hand over: %v", left)
	}
	u.seen("tok", "wiki", t0.Add(61*time.Second)) // a minute on: noted again
	if got := u.take(t0.Add(62 * time.Second))["tok"]; got.Resource != "wiki" {
		t.Fatalf("after a minute: %+v", got)
	}
}

// TestUsageWritesEachTokenAtMostOncePerMinute: a token used every second,
// by its CLI and by several resource servers, and flushed every 10 s (as
// the loop does) is written once a minute, not once a flush.
func TestUsageWritesEachTokenAtMostOncePerMinute(t *testing.T) {
	u := newUsage()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	writes := 0
	for sec := 0; sec < 180; sec++ {
		now := t0.Add(time.Duration(sec) * time.Second)
		u.touch("tok", now)
		u.seen("tok", "rs-"+string(rune('a'+sec%5)), now)
		if sec%10 == 9 {
			writes += len(u.take(now))
		}
	}
	if writes != 3 {
		t.Fatalf("%d writes in 3 minutes of constant use, want 3 (one a minute)", writes)
	}
}
