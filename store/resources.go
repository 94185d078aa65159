package store

import (
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/tokens"
)

// ResourceServer is a service allowed to introspect tokens (RFC 7662). Its
// secret is high-entropy and random, so its SHA-256 is enough: a password
// hash would only slow every introspection down.
type ResourceServer struct {
	Name       string      `json:"name"`
	SecretHash tokens.Hash `json:"secret_hash"`
	CreatedAt  time.Time   `json:"created_at"`
}

// PutResourceServer registers a resource server; ErrExists if the name is
// taken.
func (s *Store) PutResourceServer(rs ResourceServer) error {
	return s.write(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketResourceServers)
		if b.Get([]byte(rs.Name)) != nil {
			return ErrExists
		}
		if err := putJSON(b, []byte(rs.Name), rs); err != nil {
			return err
		}
		return appendEvent(tx, Event{At: rs.CreatedAt, Type: "resource.added", Subject: rs.Name})
	})
}

// ResourceServerByName returns a registered resource server.
func (s *Store) ResourceServerByName(name string) (ResourceServer, error) {
	var rs ResourceServer
	err := s.db.View(func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketResourceServers), []byte(name), &rs)
	})
	return rs, err
}

// ListResourceServers returns every registered resource server, by name.
func (s *Store) ListResourceServers() ([]ResourceServer, error) {
	out := []ResourceServer{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketResourceServers).ForEach(func(_, v []byte) error {
			var rs ResourceServer
			if err := decodeInto(v, &rs); err != nil {
				return err
			}
			out = append(out, rs)
			return nil
		})
	})
	return out, err
}

// RemoveResourceServer unregisters a resource server; its secret stops
// working at commit.
func (s *Store) RemoveResourceServer(name string, now time.Time) error {
	return s.write(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketResourceServers)
		if b.Get([]byte(name)) == nil {
			return ErrNotFound
		}
		if err := b.Delete([]byte(name)); err != nil {
			return err
		}
		return appendEvent(tx, Event{At: now, Type: "resource.removed", Subject: name})
	})
}

// TokenUse is one batched observation of a token: when it was last used
// and, when a resource server introspected it, which one.
type TokenUse struct {
	At       time.Time
	Resource string // empty: a bearer use, not an introspection
	SeenAt   time.Time
}

// RecordUses writes batched observations in one transaction, keeping the
// later times; rows that are gone or revoked are skipped.
func (s *Store) RecordUses(uses map[string]TokenUse) error {
	if len(uses) == 0 {
		return nil
	}
	return s.write(func(tx *bolt.Tx) error {
		rows := tx.Bucket(bucketTokens)
		for id, u := range uses {
			var t Token
			if err := getToken(rows, []byte(id), &t); err != nil || !t.RevokedAt.IsZero() {
				continue
			}
			if !applyUse(&t, u) {
				continue
			}
			if err := rows.Put([]byte(id), EncodeTokenRow(t)); err != nil {
				return err
			}
		}
		return nil
	})
}

// applyUse merges u into t and reports whether anything moved forward.
func applyUse(t *Token, u TokenUse) bool {
	changed := false
	if u.At.After(t.LastUsedAt) {
		t.LastUsedAt, changed = u.At, true
	}
	if u.Resource != "" && u.SeenAt.After(t.LastSeenByAt) {
		t.LastSeenBy, t.LastSeenByAt, changed = u.Resource, u.SeenAt, true
	}
	return changed
}
