package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// appendEvent records an audit event inside the caller's transaction, so the
// event commits or rolls back with the change it describes.
func appendEvent(tx *bolt.Tx, ev Event) error {
	b := tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	ev.Seq = seq
	return putJSON(b, u64(seq), ev)
}

func auditSeq(tx *bolt.Tx) uint64 {
	if b := tx.Bucket(bucketAudit); b != nil {
		return b.Sequence()
	}
	return 0
}

// eventsSince decodes the events this transaction appended after seq from.
func eventsSince(tx *bolt.Tx, from uint64) []Event {
	b := tx.Bucket(bucketAudit)
	if b == nil || b.Sequence() == from {
		return nil
	}
	var out []Event
	c := b.Cursor()
	for k, v := c.Seek(u64(from + 1)); k != nil; k, v = c.Next() {
		var ev Event
		if decodeEvent(v, &ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}

// RecordEvent stores a standalone audit event (a failed sign-in, say).
func (s *Store) RecordEvent(ev Event) error {
	return s.write(func(tx *bolt.Tx) error { return appendEvent(tx, ev) })
}

// Events returns up to limit most recent events at or after since, newest
// first.
func (s *Store) Events(since time.Time, limit int) ([]Event, error) {
	out := []Event{}
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var ev Event
			if err := decodeEvent(v, &ev); err != nil {
				return err
			}
			if ev.At.Before(since) {
				break
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// decodeEvent reads an audit row. Rows written before events had an Issuer
// kept the subject's email in Actor and its issuer in Subject on the
// approval and mint events; they are read in today's shape.
func decodeEvent(v []byte, ev *Event) error {
	if err := decodeInto(v, ev); err != nil {
		return err
	}
	if legacySubjectInActor[ev.Type] && ev.Issuer == "" && ev.Actor != "" && !strings.Contains(ev.Subject, "@") {
		ev.Subject, ev.Issuer = ev.Actor, ev.Subject
	}
	return nil
}

var legacySubjectInActor = map[string]bool{"token.minted": true, "token.rotated": true, "device.approved": true, "device.denied": true}

func decodeInto(v []byte, dst any) error {
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("corrupt row: %w", err)
	}
	return nil
}

func equalFoldASCII(a, b string) bool { return strings.EqualFold(a, b) }
