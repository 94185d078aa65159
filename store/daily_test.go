package store

import (
	"testing"
	"time"
)

func TestDailyCountsCountsWantedTypesPerUTCDaySince(t *testing.T) {
	s := mustOpen(t)
	day := 24 * time.Hour
	for _, ev := range []Event{
		{At: t0.Add(-40 * day), Type: "device.approved"}, // before since: not counted
		{At: t0.Add(-2 * day), Type: "device.approved"},
		{At: t0.Add(-2 * day), Type: "device.approved"},
		{At: t0.Add(-2 * day), Type: "device.denied"},
		{At: t0.Add(-2 * day), Type: "signin.failed"}, // not asked for
		{At: t0, Type: "token.minted"},
		{At: t0.Add(time.Minute), Type: "token.rotated"},
	} {
		if err := s.RecordEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.DailyCounts(t0.Add(-30*day), "device.approved", "device.denied", "token.minted", "token.rotated")
	if err != nil {
		t.Fatal(err)
	}
	earlier, today := t0.Add(-2*day).Format(DayKeyLayout), t0.Format(DayKeyLayout)
	want := map[string]map[string]int{
		earlier: {"device.approved": 2, "device.denied": 1},
		today:   {"token.minted": 1, "token.rotated": 1},
	}
	if len(got) != len(want) {
		t.Fatalf("days %v, want %v", got, want)
	}
	for d, counts := range want {
		for typ, n := range counts {
			if got[d][typ] != n {
				t.Errorf("%s %s = %d, want %d (all: %v)", d, typ, got[d][typ], n, got)
			}
		}
		if len(got[d]) != len(counts) {
			t.Errorf("%s counts %v, want %v", d, got[d], counts)
		}
	}
}

func TestDailyCountsOnAnEmptyLogIsEmpty(t *testing.T) {
	s := mustOpen(t)
	got, err := s.DailyCounts(t0, "device.approved")
	if err != nil || len(got) != 0 {
		t.Fatalf("DailyCounts on a fresh store = %v, %v; want empty", got, err)
	}
}
