package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// Probe proves the file is writable: one tiny write transaction to the meta
// bucket (readiness checks).
func (s *Store) Probe(now time.Time) error {
	return s.writeTx(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte("ready_probe"), u64(uint64(now.Unix())))
	}, false)
}

// Size is the data file's size as a read transaction sees it: cheap, unlike
// Stats, which walks buckets to count keys.
func (s *Store) Size() int64 {
	var n int64
	s.db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n
}
