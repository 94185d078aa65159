package server

import (
	"testing"
	"time"
)

// TestUsageNotesUsesAndIntrospections: a bearer use and an introspection
// of the same token merge into one pending write; repeats within a minute
// per observer are dropped, another observer's are not.
func TestUsageNotesUsesAndIntrospections(t *testing.T) {
	u := newUsage()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	u.seen("tok", "wiki", t0)
	u.touch("tok", t0.Add(time.Second))
	u.seen("tok", "wiki", t0.Add(2*time.Second)) // wiki again within the minute: dropped
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
