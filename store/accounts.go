package store

import (
	"bytes"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// NewAccount describes an account to create, with the workspaces (by name)
// it joins; missing workspaces are created.
type NewAccount struct {
	Account      Account
	Workspaces   []string
	WorkspaceIDs func() string // id generator for new workspaces
}

// CreateAccount creates the account and its memberships in one transaction.
// ErrExists when the email is taken (compared case-insensitively).
func (s *Store) CreateAccount(n NewAccount) (Account, error) {
	a := n.Account
	a.Email = strings.TrimSpace(a.Email)
	err := s.write(func(tx *bolt.Tx) error {
		emails := tx.Bucket(bucketAccountEmails)
		key := []byte(strings.ToLower(a.Email))
		if emails.Get(key) != nil {
			return ErrExists
		}
		for i, name := range n.Workspaces {
			id, err := join(tx, a.ID, name, n.WorkspaceIDs, a.CreatedAt)
			if err != nil {
				return err
			}
			if i == 0 {
				a.DefaultWorkspaceID = id
			}
		}
		if err := putJSON(tx.Bucket(bucketAccounts), []byte(a.ID), a); err != nil {
			return err
		}
		if err := emails.Put(key, []byte(a.ID)); err != nil {
			return err
		}
		return appendEvent(tx, Event{At: a.CreatedAt, Type: "account.created", Subject: a.Email, Detail: a.Role})
	})
	return a, err
}

// join adds an account to the workspace named name, creating it if needed.
func join(tx *bolt.Tx, accountID, name string, newID func() string, now time.Time) (string, error) {
	ws := tx.Bucket(bucketWorkspaces)
	var found *Workspace
	err := ws.ForEach(func(_, v []byte) error {
		var w Workspace
		if err := decodeInto(v, &w); err != nil {
			return err
		}
		if found == nil && strings.EqualFold(w.Name, name) {
			found = &w
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if found == nil {
		found = &Workspace{ID: newID(), Name: name, CreatedAt: now}
		if err := putJSON(ws, []byte(found.ID), found); err != nil {
			return "", err
		}
	}
	return found.ID, tx.Bucket(bucketMemberships).Put(membershipKey(accountID, found.ID), []byte("member"))
}

// orderMemberships lists the default workspace first, then by name, so the
// order does not depend on random ids.
func orderMemberships(ms []Membership, defaultID string) []Membership {
	sort.SliceStable(ms, func(i, j int) bool {
		di, dj := ms[i].Workspace.ID == defaultID, ms[j].Workspace.ID == defaultID
		if di != dj {
			return di
		}
		return ms[i].Workspace.Name < ms[j].Workspace.Name
	})
	return ms
}

func membershipKey(accountID, workspaceID string) []byte {
	return []byte(accountID + "\x00" + workspaceID)
}

// AccountByEmail finds an account by email, case-insensitively.
func (s *Store) AccountByEmail(email string) (Account, error) {
	var a Account
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketAccountEmails).Get([]byte(strings.ToLower(strings.TrimSpace(email))))
		if id == nil {
			return ErrNotFound
		}
		return getJSON(tx.Bucket(bucketAccounts), id, &a)
	})
	return a, err
}

// AccountByID returns an account with its memberships.
func (s *Store) AccountByID(id string) (Account, []Membership, error) {
	var a Account
	var ms []Membership
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketAccounts), []byte(id), &a); err != nil {
			return err
		}
		var err error
		ms, err = membershipsOf(tx, id)
		ms = orderMemberships(ms, a.DefaultWorkspaceID)
		return err
	})
	return a, ms, err
}

func membershipsOf(tx *bolt.Tx, accountID string) ([]Membership, error) {
	out := []Membership{}
	prefix := []byte(accountID + "\x00")
	c := tx.Bucket(bucketMemberships).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var m Membership
		if err := getJSON(tx.Bucket(bucketWorkspaces), k[len(prefix):], &m.Workspace); err != nil {
			return nil, err
		}
		m.Role = string(v)
		out = append(out, m)
	}
	return out, nil
}

// ListAccounts returns every account.
func (s *Store) ListAccounts() ([]Account, error) {
	out := []Account{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAccounts).ForEach(func(_, v []byte) error {
			var a Account
			if err := decodeInto(v, &a); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// CountAccounts reports how many accounts exist.
func (s *Store) CountAccounts() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketAccounts).Stats().KeyN
		return nil
	})
	return n, err
}

// AccountUpdate changes one account by email in one transaction.
type AccountUpdate struct {
	Email        string
	Disable      *bool
	PasswordHash string
	Now          time.Time
	Actor        string
}

// UpdateAccount applies u. Disabling an account also revokes its live
// tokens and denies its approved codes in the same transaction; its
// sessions are checked against Disabled on every use. Enabling it again
// restores no token. A new password deletes the account's sessions.
func (s *Store) UpdateAccount(u AccountUpdate) (Account, error) {
	var a Account
	err := s.write(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketAccountEmails).Get([]byte(strings.ToLower(strings.TrimSpace(u.Email))))
		if id == nil {
			return ErrNotFound
		}
		if err := getJSON(tx.Bucket(bucketAccounts), id, &a); err != nil {
			return err
		}
		detail := "password changed"
		if u.Disable != nil {
			a.Disabled, detail = *u.Disable, "disabled"
			if !a.Disabled {
				detail = "enabled"
			}
		}
		if u.PasswordHash != "" {
			a.PasswordHash = u.PasswordHash
		}
		if err := putJSON(tx.Bucket(bucketAccounts), []byte(a.ID), a); err != nil {
			return err
		}
		if err := appendEvent(tx, Event{At: u.Now, Type: "account.updated", Actor: u.Actor, Subject: a.Email, Detail: detail}); err != nil {
			return err
		}
		if u.PasswordHash != "" {
			// A new password ends every browser session signed in with the
			// old one (a reset after a leak must lock the holder out of the
			// approval page); tokens already issued stay until revoked.
			if err := deleteSessionsOf(tx, a.ID); err != nil {
				return err
			}
		}
		if u.Disable != nil && *u.Disable {
			return revokeAccountTokens(tx, a, u.Now, u.Actor)
		}
		return nil
	})
	return a, err
}

// deleteSessionsOf deletes every sign-in session of one account.
func deleteSessionsOf(tx *bolt.Tx, accountID string) error {
	b := tx.Bucket(bucketSessions)
	var keys [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var sess Session
		if err := decodeInto(v, &sess); err != nil {
			return err
		}
		if sess.AccountID == accountID {
			keys = append(keys, clone(k))
		}
		return nil
	})
	for _, k := range keys {
		if err == nil {
			err = b.Delete(k)
		}
	}
	return err
}

// revokeAccountTokens ends everything a disabled account holds: its live
// tokens (so resource servers, proxies and /v1/me refuse them at once, not
// when they expire) and its approved, unpolled codes.
func revokeAccountTokens(tx *bolt.Tx, a Account, now time.Time, actor string) error {
	_, err := revokeIn(tx, RevokeFilter{Email: a.Email, Issuer: LocalIssuer, Reason: "account disabled", Actor: actor, Now: now})
	return err
}
