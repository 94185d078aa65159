package store

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/tokens"
)

// CreateDeviceCode stores a new pending code and its user_code index entry.
// ErrExists means the user code is taken by a live code; the caller draws
// another.
func (s *Store) CreateDeviceCode(dc DeviceCode) error {
	return s.update(func(tx *bolt.Tx) error {
		codes, users := tx.Bucket(bucketDeviceCodes), tx.Bucket(bucketUserCodes)
		if codes.Get(dc.Hash[:]) != nil {
			return refuse(ErrExists)
		}
		if prev := users.Get([]byte(dc.UserCode)); prev != nil {
			var old DeviceCode
			if err := getJSON(codes, prev, &old); err == nil && !old.Expired(dc.CreatedAt) {
				return refuse(ErrExists)
			}
			// A stale index entry of an expired code: drop the old code with it.
			if err := codes.Delete(prev); err != nil {
				return err
			}
		}
		dc.Status = StatusPending
		if err := putJSON(codes, dc.Hash[:], dc); err != nil {
			return err
		}
		return users.Put([]byte(dc.UserCode), dc.Hash[:])
	})
}

// DeviceCodeByHash returns the code for a device_code hash (a read only; a
// pending poll writes nothing).
func (s *Store) DeviceCodeByHash(h tokens.Hash) (DeviceCode, error) {
	var dc DeviceCode
	err := s.db.View(func(tx *bolt.Tx) error {
		return getDeviceCode(tx, h, &dc)
	})
	return dc, err
}

// DeviceCodeByUserCode returns the code a person typed (normalized).
func (s *Store) DeviceCodeByUserCode(userCode string) (DeviceCode, error) {
	var dc DeviceCode
	err := s.db.View(func(tx *bolt.Tx) error {
		_, err := findByUserCode(tx, userCode, &dc)
		return err
	})
	return dc, err
}

func getDeviceCode(tx *bolt.Tx, h tokens.Hash, dc *DeviceCode) error {
	if err := getJSON(tx.Bucket(bucketDeviceCodes), h[:], dc); err != nil {
		return err
	}
	dc.Hash = h
	return nil
}

func findByUserCode(tx *bolt.Tx, userCode string, dc *DeviceCode) (tokens.Hash, error) {
	var h tokens.Hash
	raw := tx.Bucket(bucketUserCodes).Get([]byte(userCode))
	if len(raw) != len(h) {
		return h, ErrNotFound
	}
	copy(h[:], raw)
	return h, getDeviceCode(tx, h, dc)
}

// Resolution is a person's answer to a pending code.
type Resolution struct {
	UserCode string
	Approve  bool
	Subject  Subject
	IP       string
	Now      time.Time
}

// ResolveDeviceCode approves or denies a pending, unexpired code, recording
// who did it. ErrNotFound covers unknown and expired codes alike;
// ErrAlreadyResolved a code already approved or denied.
func (s *Store) ResolveDeviceCode(r Resolution) (DeviceCode, error) {
	var dc DeviceCode
	err := s.update(func(tx *bolt.Tx) error {
		if _, err := findByUserCode(tx, r.UserCode, &dc); err != nil {
			return refuse(err)
		}
		if dc.Expired(r.Now) {
			return refuse(ErrNotFound)
		}
		if dc.Status != StatusPending {
			return refuse(ErrAlreadyResolved)
		}
		dc.Status, dc.ResolvedAt = StatusDenied, r.Now
		evType := "device.denied"
		if r.Approve {
			dc.Status, evType = StatusApproved, "device.approved"
		}
		subj := r.Subject
		dc.Subject = &subj
		if err := putJSON(tx.Bucket(bucketDeviceCodes), dc.Hash[:], dc); err != nil {
			return err
		}
		return appendEvent(tx, Event{At: r.Now, Type: evType, Actor: subj.Email, Subject: subj.Email,
			Issuer: subj.Issuer, Client: dc.ClientID, IP: r.IP, Detail: "device " + dc.DeviceLabel})
	})
	if err == nil && s.onResolved != nil {
		s.onResolved(dc.Hash)
	}
	return dc, err
}

// Mint is what the poll handler prepares outside the transaction: the new
// token's id and hash (the plaintext never reaches the store).
type Mint struct {
	DeviceHash tokens.Hash
	ClientID   string
	Kind       tokens.Kind
	NewID      string
	TokenHash  tokens.Hash
	Prefix     string
	TTL        time.Duration
	IP         string
	Now        time.Time
}

// Issued is the outcome of a successful consume.
type Issued struct {
	Token   Token
	Code    DeviceCode
	Rotated bool
}

// ConsumeDeviceCode is the poll that finds an approved code: in one
// transaction it deletes the code and its user_code index, and writes the
// token row, its hash index and the active-per-device index, rotating an
// existing live token for the same key in place. Concurrent callers: exactly
// one gets the token; the others get ErrNotFound (invalid_grant).
func (s *Store) ConsumeDeviceCode(m Mint) (Issued, error) {
	var out Issued
	denied := false
	err := s.update(func(tx *bolt.Tx) error {
		denied = false
		dc, err := consumableCode(tx, m)
		if errors.Is(err, errSubjectGone) {
			// Commit the denial, so re-enabling the account later does not
			// revive this approval.
			denied = true
			dc.Status = StatusDenied
			return putJSON(tx.Bucket(bucketDeviceCodes), dc.Hash[:], dc)
		}
		if err != nil {
			return refuse(err)
		}
		if err := deleteDeviceCode(tx, dc); err != nil {
			return err
		}
		out.Code = dc
		if out.Token, out.Rotated, err = mintToken(tx, dc, m); err != nil {
			return err
		}
		return auditCrossIP(tx, dc, m, out.Token.ID)
	})
	if err == nil && denied {
		err = ErrDenied
	}
	return out, err
}

// errSubjectGone: the approving account was disabled or removed before the
// poll; the approval is turned into a denial.
var errSubjectGone = errors.New("approving account disabled or gone")

// consumableCode re-checks, inside the consuming transaction, everything the
// poll handler saw in its read.
func consumableCode(tx *bolt.Tx, m Mint) (DeviceCode, error) {
	var dc DeviceCode
	if err := getDeviceCode(tx, m.DeviceHash, &dc); err != nil {
		return dc, err
	}
	switch {
	case dc.ClientID != m.ClientID:
		return dc, ErrWrongClient
	case dc.Expired(m.Now):
		return dc, ErrExpired
	case dc.Status == StatusPending:
		return dc, ErrPending
	case dc.Status == StatusDenied:
		return dc, ErrDenied
	case dc.Subject == nil:
		return dc, fmt.Errorf("%w: approved code without subject", ErrInvalid)
	}
	if dc.Subject.AccountID != "" {
		var a Account
		if err := getJSON(tx.Bucket(bucketAccounts), []byte(dc.Subject.AccountID), &a); err != nil || a.Disabled {
			return dc, errSubjectGone
		}
	}
	return dc, nil
}

func deleteDeviceCode(tx *bolt.Tx, dc DeviceCode) error {
	users := tx.Bucket(bucketUserCodes)
	if cur := users.Get([]byte(dc.UserCode)); cur != nil && string(cur) == string(dc.Hash[:]) {
		if err := users.Delete([]byte(dc.UserCode)); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketDeviceCodes).Delete(dc.Hash[:])
}

// auditCrossIP records a token collected from another address than the one
// that asked for the code: legitimate behind changing NATs, but worth a look.
func auditCrossIP(tx *bolt.Tx, dc DeviceCode, m Mint, tokenID string) error {
	if dc.RequesterIP == "" || m.IP == "" || dc.RequesterIP == m.IP {
		return nil
	}
	return appendEvent(tx, Event{At: m.Now, Type: "poll.cross_ip", Actor: dc.Subject.Email, TokenID: tokenID,
		Client: dc.ClientID, IP: m.IP, Detail: "code requested from " + dc.RequesterIP})
}
