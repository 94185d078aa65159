package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// DayKeyLayout names a UTC day in DailyCounts' answer.
const DayKeyLayout = "2006-01-02"

// DailyCounts counts audit events of the given types per UTC day, from since
// to the newest event, in one read transaction. The answer maps a day
// (DayKeyLayout) to counts by event type; days and types with no events are
// absent. It walks the audit log from its end and stops at the first event
// before since, as Events does, and keeps nothing but the counts.
func (s *Store) DailyCounts(since time.Time, types ...string) (map[string]map[string]int, error) {
	want := make(map[string]bool, len(types))
	for _, t := range types {
		want[t] = true
	}
	out := map[string]map[string]int{}
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var ev struct {
				At   time.Time `json:"at"`
				Type string    `json:"type"`
			}
			if err := decodeInto(v, &ev); err != nil {
				return err
			}
			if ev.At.Before(since) {
				return nil
			}
			if want[ev.Type] {
				countDay(out, ev.At.UTC().Format(DayKeyLayout), ev.Type)
			}
		}
		return nil
	})
	return out, err
}

func countDay(out map[string]map[string]int, day, typ string) {
	if out[day] == nil {
		out[day] = map[string]int{}
	}
	out[day][typ]++
}
