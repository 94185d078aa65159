package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// PutClient registers a client; ErrExists if the id is taken.
func (s *Store) PutClient(c Client) error {
	return s.write(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClients)
		if b.Get([]byte(c.ID)) != nil {
			return ErrExists
		}
		if err := putJSON(b, []byte(c.ID), c); err != nil {
			return err
		}
		return appendEvent(tx, Event{At: c.CreatedAt, Type: "client.added", Client: c.ID})
	})
}

// Client returns a registered client.
func (s *Store) Client(id string) (Client, error) {
	var c Client
	err := s.db.View(func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketClients), []byte(id), &c)
	})
	return c, err
}

// ListClients returns every registered client.
func (s *Store) ListClients() ([]Client, error) {
	out := []Client{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketClients).ForEach(func(_, v []byte) error {
			var c Client
			if err := decodeInto(v, &c); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	return out, err
}

// RemoveClient unregisters a client and revokes its tokens: new flows for
// it are refused, and its tokens stop working and its pending and approved
// codes are denied at commit.
func (s *Store) RemoveClient(id, actor string, now time.Time) (RevokeResult, error) {
	var res RevokeResult
	err := s.write(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClients)
		if b.Get([]byte(id)) == nil {
			return ErrNotFound
		}
		if err := b.Delete([]byte(id)); err != nil {
			return err
		}
		if err := appendEvent(tx, Event{At: now, Type: "client.removed", Actor: actor, Client: id}); err != nil {
			return err
		}
		// A removed client's tokens and approved codes go with it, in the
		// same transaction: nothing it was granted outlives it.
		var err error
		res, err = revokeIn(tx, RevokeFilter{Client: id, Reason: "client removed", Actor: actor, Now: now})
		if err != nil {
			return err
		}
		// Codes still waiting for a person go too: approving one later
		// (and re-adding the client id) must not mint a token.
		n, err := denyCodes(tx, func(dc DeviceCode) bool { return dc.Status == StatusPending && dc.ClientID == id })
		res.DeniedCodes += n
		return err
	})
	return res, err
}
