package store

import (
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/tokens"
)

// SignIn stores a sign-in session under the hash of its cookie, if the
// account is still enabled and still has passwordHash, the hash the caller
// checked the password against: the check and the write are one decision,
// so a sign-in racing a password change (or a disable) cannot leave a
// session behind it. Otherwise ErrNotFound.
func (s *Store) SignIn(h tokens.Hash, sess Session, passwordHash string) error {
	return s.write(func(tx *bolt.Tx) error {
		var a Account
		if err := getJSON(tx.Bucket(bucketAccounts), []byte(sess.AccountID), &a); err != nil {
			return err
		}
		if a.Disabled || a.PasswordHash != passwordHash {
			return ErrNotFound
		}
		return putJSON(tx.Bucket(bucketSessions), h[:], sess)
	})
}

// putSession stores a session without the account check (tests seed with it).
func (s *Store) putSession(h tokens.Hash, sess Session) error {
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
