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

// RemoveClient unregisters a client. Its tokens stay valid until revoked
// (revoke --client); new flows for it are refused.
func (s *Store) RemoveClient(id string, now time.Time) error {
	return s.write(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClients)
		if b.Get([]byte(id)) == nil {
			return ErrNotFound
		}
		if err := b.Delete([]byte(id)); err != nil {
			return err
		}
		return appendEvent(tx, Event{At: now, Type: "client.removed", Client: id})
	})
}
