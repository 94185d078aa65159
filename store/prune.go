package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PruneBatch bounds how many rows one prune transaction deletes, so serving
// goes on between batches.
const PruneBatch = 1000

// PrunePolicy says what is old enough to delete.
type PrunePolicy struct {
	Now             time.Time
	Retention       time.Duration // revoked and expired tokens
	AuditRetention  time.Duration // audit events
	DeviceCodeGrace time.Duration // expired codes stay this long, answering expired_token
	DryRun          bool
}

// validate refuses windows that would reach into the future: a negative
// retention moves the cutoff past now and would delete live rows.
func (p PrunePolicy) validate() error {
	switch {
	case p.Now.IsZero():
		return fmt.Errorf("%w: prune needs the current time", ErrInvalid)
	case p.Retention < 0, p.AuditRetention < 0, p.DeviceCodeGrace < 0:
		return fmt.Errorf("%w: prune retention must not be negative (retention %v, audit %v, code grace %v)",
			ErrInvalid, p.Retention, p.AuditRetention, p.DeviceCodeGrace)
	}
	return nil
}

// PruneCounts is how many rows of each kind were (or would be) deleted.
type PruneCounts struct {
	Tokens      int `json:"tokens"`
	DeviceCodes int `json:"device_codes"`
	Sessions    int `json:"sessions"`
	Nonces      int `json:"nonces"`
	Events      int `json:"audit_events"`
}

// pruneRule is one bucket's notion of dead and how to delete a dead row with
// its index entries.
type pruneRule struct {
	bucket []byte
	dead   func(k, v []byte) bool
	del    func(tx *bolt.Tx, k, v []byte) error
}

// Prune deletes dead rows bucket by bucket. Each batch first collects keys in
// a read transaction, then deletes them in a write transaction that re-checks
// each row, so a row revived in between is never touched and no cursor skips
// a neighbour of a deleted key.
func (s *Store) Prune(p PrunePolicy) (PruneCounts, error) {
	var c PruneCounts
	if err := p.validate(); err != nil {
		return c, err
	}
	steps := []struct {
		rule pruneRule
		n    *int
	}{
		{p.tokenRule(), &c.Tokens},
		{p.deviceCodeRule(), &c.DeviceCodes},
		{p.sessionRule(), &c.Sessions},
		{p.nonceRule(), &c.Nonces},
		{p.auditRule(), &c.Events},
	}
	for _, st := range steps {
		n, err := s.pruneBucket(st.rule, p.DryRun)
		*st.n = n
		if err != nil {
			return c, err
		}
	}
	return c, nil
}

// pruneBucket runs batches until collectDead reaches the end of the bucket
// (last == nil). Stopping there, not on an empty batch, is what ends a dry
// run, whose batches never shrink because nothing is deleted.
func (s *Store) pruneBucket(r pruneRule, dryRun bool) (int, error) {
	total := 0
	var after []byte
	for {
		keys, last, err := s.collectDead(r, after)
		if err != nil {
			return total, err
		}
		n := len(keys)
		if !dryRun && n > 0 {
			n, err = s.deleteDead(r, keys)
		}
		total += n
		if err != nil || last == nil {
			return total, err
		}
		after = last
	}
}

// collectDead scans up to PruneBatch dead keys after the key `after`. It
// returns the last key scanned (nil at the end of the bucket).
func (s *Store) collectDead(r pruneRule, after []byte) ([][]byte, []byte, error) {
	var keys [][]byte
	var last []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(r.bucket).Cursor()
		k, v := c.First()
		if after != nil {
			k, v = c.Seek(after)
			if k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			if r.dead(k, v) {
				keys = append(keys, clone(k))
			}
			if len(keys) >= PruneBatch {
				last = clone(k)
				return nil
			}
		}
		return nil
	})
	return keys, last, err
}

func (s *Store) deleteDead(r pruneRule, keys [][]byte) (int, error) {
	n := 0
	err := s.write(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(r.bucket)
		for _, k := range keys {
			v := b.Get(k)
			if v == nil || !r.dead(k, v) {
				continue
			}
			if err := r.del(tx, k, clone(v)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

func (p PrunePolicy) tokenRule() pruneRule {
	cutoff := p.Now.Add(-p.Retention)
	return pruneRule{
		bucket: bucketTokens,
		dead: func(_, v []byte) bool {
			t, err := decodeToken(v)
			if err != nil {
				return false
			}
			if !t.RevokedAt.IsZero() {
				return t.RevokedAt.Before(cutoff)
			}
			// Belt and braces: a live token is never dead, whatever the
			// window says.
			return t.ExpiresAt.Before(cutoff) && !t.ExpiresAt.After(p.Now)
		},
		del: func(tx *bolt.Tx, k, v []byte) error {
			t, _ := decodeToken(v)
			if err := deleteHashIndex(tx, t); err != nil {
				return err
			}
			active := tx.Bucket(bucketTokenActive)
			key := activeKey(t.SubjectEmail, t.SubjectIssuer, t.ClientID, t.DeviceLabel)
			if cur := active.Get(key); cur != nil && string(cur) == t.ID {
				if err := active.Delete(key); err != nil {
					return err
				}
			}
			return tx.Bucket(bucketTokens).Delete(k)
		},
	}
}

func (p PrunePolicy) deviceCodeRule() pruneRule {
	cutoff := p.Now.Add(-p.DeviceCodeGrace)
	return pruneRule{
		bucket: bucketDeviceCodes,
		dead: func(_, v []byte) bool {
			var dc DeviceCode
			return decodeInto(v, &dc) == nil && dc.ExpiresAt.Before(cutoff)
		},
		del: func(tx *bolt.Tx, k, v []byte) error {
			var dc DeviceCode
			if err := decodeInto(v, &dc); err != nil {
				return err
			}
			copy(dc.Hash[:], k)
			return deleteDeviceCode(tx, dc)
		},
	}
}

func (p PrunePolicy) sessionRule() pruneRule {
	return pruneRule{
		bucket: bucketSessions,
		dead: func(_, v []byte) bool {
			var s Session
			return decodeInto(v, &s) == nil && !p.Now.Before(s.ExpiresAt)
		},
		del: deleteKey(bucketSessions),
	}
}

func (p PrunePolicy) nonceRule() pruneRule {
	return pruneRule{
		bucket: bucketNonces,
		dead: func(_, v []byte) bool {
			return len(v) == 8 && int64(binary.BigEndian.Uint64(v)) < p.Now.Unix()
		},
		del: deleteKey(bucketNonces),
	}
}

func (p PrunePolicy) auditRule() pruneRule {
	cutoff := p.Now.Add(-p.AuditRetention)
	return pruneRule{
		bucket: bucketAudit,
		dead: func(_, v []byte) bool {
			var ev Event
			return decodeInto(v, &ev) == nil && ev.At.Before(cutoff)
		},
		del: deleteKey(bucketAudit),
	}
}

func deleteKey(bucket []byte) func(tx *bolt.Tx, k, v []byte) error {
	return func(tx *bolt.Tx, k, _ []byte) error { return tx.Bucket(bucket).Delete(k) }
}

// ClaimNonce records a single-use nonce until expiry. ErrExists when it was
// claimed before, even across restarts.
func (s *Store) ClaimNonce(nonce string, expiry time.Time) error {
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNonces)
		if b.Get([]byte(nonce)) != nil {
			return refuse(ErrExists)
		}
		return b.Put([]byte(nonce), u64(uint64(expiry.Unix())))
	})
}
