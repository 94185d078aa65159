package store

import (
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/tokens"
)

// CreateSession stores a sign-in session under the hash of its cookie.
func (s *Store) CreateSession(h tokens.Hash, sess Session) error {
	return s.write(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketSessions), h[:], sess)
	})
}

// SessionAccount resolves a session cookie's hash to its live, enabled
// account. Expired sessions and disabled accounts answer ErrNotFound.
func (s *Store) SessionAccount(h tokens.Hash, now time.Time) (Account, []Membership, error) {
	var a Account
	var ms []Membership
	err := s.db.View(func(tx *bolt.Tx) error {
		var sess Session
		if err := getJSON(tx.Bucket(bucketSessions), h[:], &sess); err != nil {
			return err
		}
		if !now.Before(sess.ExpiresAt) {
			return ErrNotFound
		}
		if err := getJSON(tx.Bucket(bucketAccounts), []byte(sess.AccountID), &a); err != nil {
			return err
		}
		if a.Disabled {
			return ErrNotFound
		}
		var err error
		ms, err = membershipsOf(tx, a.ID)
		ms = orderMemberships(ms, a.DefaultWorkspaceID)
		return err
	})
	return a, ms, err
}

// DeleteSession signs a browser out.
func (s *Store) DeleteSession(h tokens.Hash) error {
	return s.write(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).Delete(h[:])
	})
}
