package store

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/tokens"
)

// mintToken writes the token for an approved code, rotating in place when the
// active-per-device key already points at a live token.
func mintToken(tx *bolt.Tx, dc DeviceCode, m Mint) (Token, bool, error) {
	rows, active := tx.Bucket(bucketTokens), tx.Bucket(bucketTokenActive)
	subj := dc.Subject
	key := activeKey(subj.Email, subj.Issuer, dc.ClientID, dc.DeviceLabel)
	t, rotated := Token{}, false
	if id := active.Get(key); id != nil {
		if err := getToken(rows, id, &t); err == nil && t.Live(m.Now) {
			rotated = true
			if err := deleteHashIndex(tx, t); err != nil {
				return Token{}, false, err
			}
		}
	}
	if !rotated {
		t = Token{ID: m.NewID, CreatedAt: m.Now, Kind: m.Kind.Name, SubjectEmail: subj.Email,
			SubjectIssuer: subj.Issuer, ClientID: dc.ClientID, DeviceLabel: dc.DeviceLabel}
	} else {
		t.RotatedAt = m.Now
	}
	t.Hash, t.Prefix, t.ExpiresAt = m.TokenHash, m.Prefix, m.Now.Add(m.TTL)
	t.AccountID, t.WorkspaceID, t.Kind = subj.AccountID, subj.WorkspaceID, m.Kind.Name
	if err := putToken(tx, t); err != nil {
		return Token{}, false, err
	}
	if err := active.Put(key, []byte(t.ID)); err != nil {
		return Token{}, false, err
	}
	ev := Event{At: m.Now, Type: "token.minted", Actor: subj.Email, Subject: subj.Email, Issuer: subj.Issuer,
		TokenID: t.ID, Client: dc.ClientID, IP: m.IP}
	if rotated {
		ev.Type = "token.rotated"
	}
	return t, rotated, appendEvent(tx, ev)
}

func putToken(tx *bolt.Tx, t Token) error {
	if err := tx.Bucket(bucketTokens).Put([]byte(t.ID), EncodeTokenRow(t)); err != nil {
		return err
	}
	if t.Hash.IsZero() {
		return nil
	}
	return tx.Bucket(bucketTokenHashes).Put(t.Hash[:], []byte(t.ID))
}

func deleteHashIndex(tx *bolt.Tx, t Token) error {
	if t.Hash.IsZero() {
		return nil
	}
	return tx.Bucket(bucketTokenHashes).Delete(t.Hash[:])
}

// TokenByHash finds the token a bearer value hashes to. It does not judge
// expiry: the caller compares ExpiresAt with its clock and calls HardExpire.
// Unknown and revoked tokens both answer ErrNotFound, so the two cannot be
// told apart from outside.
func (s *Store) TokenByHash(h tokens.Hash) (Token, error) {
	var t Token
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketTokenHashes).Get(h[:])
		if id == nil {
			return ErrNotFound
		}
		if err := getToken(tx.Bucket(bucketTokens), id, &t); err != nil {
			return err
		}
		if t.Hash != h || !t.RevokedAt.IsZero() {
			return ErrNotFound
		}
		return nil
	})
	return t, err
}

// TokenByID returns a token row, live or not.
func (s *Store) TokenByID(id string) (Token, error) {
	var t Token
	err := s.db.View(func(tx *bolt.Tx) error {
		return getToken(tx.Bucket(bucketTokens), []byte(id), &t)
	})
	return t, err
}

// HardExpire retires a token presented after its expiry: a compare-and-set on
// (hash, expired, not yet revoked) that marks the row revoked, clears its hash
// and index entries and records one audit event. It reports whether this call
// made the change, so concurrent presentations record exactly one event.
func (s *Store) HardExpire(h tokens.Hash, now time.Time) (bool, error) {
	done := false
	err := s.write(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketTokenHashes).Get(h[:])
		if id == nil {
			return nil
		}
		var t Token
		if err := getToken(tx.Bucket(bucketTokens), id, &t); err != nil {
			return err
		}
		if t.Hash != h || !t.RevokedAt.IsZero() || now.Before(t.ExpiresAt) {
			return nil
		}
		done = true
		return retire(tx, t, now, "expired", "system")
	})
	return done, err
}

// retire marks a token revoked, clears its hash and drops its index entries.
func retire(tx *bolt.Tx, t Token, now time.Time, reason, actor string) error {
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
	t.Hash, t.RevokedAt, t.RevokedReason = tokens.Hash{}, now, reason
	if err := putToken(tx, t); err != nil {
		return err
	}
	typ := "token.revoked"
	if reason == "expired" {
		typ = "token.hard_expired"
	}
	return appendEvent(tx, Event{At: now, Type: typ, Actor: actor, Subject: t.SubjectEmail, Issuer: t.SubjectIssuer,
		TokenID: t.ID, Client: t.ClientID, Detail: reason})
}

// RevokeFilter selects tokens to revoke. Exactly one selector is used, in the
// order the fields are listed; All must be set explicitly to revoke every
// token.
type RevokeFilter struct {
	TokenID string
	Hash    tokens.Hash
	Email   string
	Issuer  string // with Email; empty means every issuer
	Client  string
	All     bool
	// OwnerEmail and OwnerIssuer, when set, restrict a TokenID revoke to
	// that subject's own row: another subject's id answers ErrNotFound.
	OwnerEmail  string
	OwnerIssuer string
	Reason      string
	Actor       string
	Now         time.Time
}

// RevokeResult counts what a revoke changed. Revoking an already revoked
// token is not an error: it counts as AlreadyRevoked.
type RevokeResult struct {
	Revoked        []string `json:"revoked"`
	AlreadyRevoked int      `json:"already_revoked"`
	// DeniedCodes are approved-but-unpolled codes of the selected subjects,
	// turned to denied so a revoked person's pending approval is never minted.
	DeniedCodes int `json:"denied_codes"`
}

// Revoke revokes the tokens the filter selects, in one transaction.
// ErrNotFound only when a single token was named and no such row exists.
func (s *Store) Revoke(f RevokeFilter) (RevokeResult, error) {
	var res RevokeResult
	err := s.write(func(tx *bolt.Tx) error {
		var err error
		res, err = revokeIn(tx, f)
		return err
	})
	return res, err
}

// revokeIn is Revoke inside the caller's transaction.
func revokeIn(tx *bolt.Tx, f RevokeFilter) (RevokeResult, error) {
	res := RevokeResult{Revoked: []string{}}
	rows, err := selectTokens(tx, f)
	if err != nil {
		return res, err
	}
	for _, t := range rows {
		if !t.RevokedAt.IsZero() {
			res.AlreadyRevoked++
			continue
		}
		if err := retire(tx, t, f.Now, f.Reason, f.Actor); err != nil {
			return res, err
		}
		res.Revoked = append(res.Revoked, t.ID)
	}
	match := func(dc DeviceCode) bool { return f.matches(dc.Subject.Email, dc.Subject.Issuer, dc.ClientID) }
	if f.TokenID != "" || !f.Hash.IsZero() {
		// One token: an approved, unpolled code for the same device
		// would mint it again (rotation keeps the key), so it is
		// denied too: a token revoked between approval and poll is
		// never handed out. Revoking a row that was already dead
		// (revoked, or expired) denies nothing: the new login it would
		// "mint again" is a fresh one, not a revival.
		t := rows[0]
		if len(res.Revoked) == 0 || !t.Live(f.Now) {
			return res, nil
		}
		key := string(activeKey(t.SubjectEmail, t.SubjectIssuer, t.ClientID, t.DeviceLabel))
		match = func(dc DeviceCode) bool {
			return string(activeKey(dc.Subject.Email, dc.Subject.Issuer, dc.ClientID, dc.DeviceLabel)) == key
		}
	}
	res.DeniedCodes, err = denyApprovedCodes(tx, match)
	return res, err
}

func selectTokens(tx *bolt.Tx, f RevokeFilter) ([]Token, error) {
	rows := tx.Bucket(bucketTokens)
	if f.TokenID != "" || !f.Hash.IsZero() {
		id := []byte(f.TokenID)
		if !f.Hash.IsZero() {
			id = clone(tx.Bucket(bucketTokenHashes).Get(f.Hash[:]))
		}
		var t Token
		if id == nil {
			return nil, ErrNotFound
		}
		if err := getToken(rows, id, &t); err != nil {
			return nil, err
		}
		if (f.OwnerIssuer != "" || f.OwnerEmail != "") && (!equalFoldASCII(t.SubjectEmail, f.OwnerEmail) || t.SubjectIssuer != f.OwnerIssuer) {
			return nil, ErrNotFound
		}
		return []Token{t}, nil
	}
	var out []Token
	err := rows.ForEach(func(_, v []byte) error {
		t, err := decodeToken(v)
		if err == nil && f.matches(t.SubjectEmail, t.SubjectIssuer, t.ClientID) {
			out = append(out, t)
		}
		return err
	})
	return out, err
}

func (f RevokeFilter) matches(email, issuer, client string) bool {
	switch {
	case f.Email != "":
		return equalFoldASCII(email, f.Email) && (f.Issuer == "" || issuer == f.Issuer)
	case f.Client != "":
		return client == f.Client
	default:
		return f.All
	}
}

// denyApprovedCodes turns approved, unconsumed codes that match to denied, so the next poll answers access_denied instead of minting.
func denyApprovedCodes(tx *bolt.Tx, match func(DeviceCode) bool) (int, error) {
	return denyCodes(tx, func(dc DeviceCode) bool { return dc.Status == StatusApproved && dc.Subject != nil && match(dc) })
}

// denyCodes turns every device code pick selects to denied: its poll then
// answers access_denied and it can no longer be approved.
func denyCodes(tx *bolt.Tx, pick func(DeviceCode) bool) (int, error) {
	codes := tx.Bucket(bucketDeviceCodes)
	var hit []DeviceCode
	err := codes.ForEach(func(k, v []byte) error {
		var dc DeviceCode
		if err := decodeInto(v, &dc); err != nil {
			return err
		}
		if pick(dc) {
			copy(dc.Hash[:], k)
			hit = append(hit, dc)
		}
		return nil
	})
	for _, dc := range hit {
		dc.Status = StatusDenied
		if err == nil {
			err = putJSON(codes, dc.Hash[:], dc)
		}
	}
	return len(hit), err
}

// TokenFilter selects rows for listing.
type TokenFilter struct {
	Email       string
	Issuer      string
	Client      string
	IncludeDead bool
	Now         time.Time
}

// ListTokens returns the token rows matching the filter, oldest id first.
// A subject's own live tokens (email and issuer named, no dead rows) are
// found through the active-per-device index, whose keys start with the
// subject: a caller listing its devices costs its own rows, not a walk of
// every token in the file.
func (s *Store) ListTokens(f TokenFilter) ([]Token, error) {
	out := []Token{}
	err := s.db.View(func(tx *bolt.Tx) error {
		if f.Email != "" && f.Issuer != "" && !f.IncludeDead {
			return listSubjectTokens(tx, f, &out)
		}
		return tx.Bucket(bucketTokens).ForEach(func(_, v []byte) error {
			t, err := decodeToken(v)
			if err != nil {
				return err
			}
			if f.keep(t) {
				out = append(out, t)
			}
			return nil
		})
	})
	return out, err
}

// listSubjectTokens walks the active index under the subject's key prefix.
// Every live token has its entry there (a mint writes it, only retire and
// prune remove it), so nothing live is missed.
func listSubjectTokens(tx *bolt.Tx, f TokenFilter, out *[]Token) error {
	prefix := subjectPrefix(f.Email, f.Issuer)
	rows := tx.Bucket(bucketTokens)
	c := tx.Bucket(bucketTokenActive).Cursor()
	for k, id := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, id = c.Next() {
		var t Token
		err := getToken(rows, id, &t)
		if errors.Is(err, ErrNotFound) {
			continue // an index entry without its row lists nothing
		}
		if err != nil {
			return err
		}
		if f.keep(t) {
			*out = append(*out, t)
		}
	}
	slices.SortFunc(*out, func(a, b Token) int { return strings.Compare(a.ID, b.ID) })
	return nil
}

func (f TokenFilter) keep(t Token) bool {
	if !f.IncludeDead && !t.Live(f.Now) {
		return false
	}
	if f.Email != "" && !equalFoldASCII(t.SubjectEmail, f.Email) {
		return false
	}
	if f.Issuer != "" && t.SubjectIssuer != f.Issuer {
		return false
	}
	return f.Client == "" || t.ClientID == f.Client
}

// TouchTokens records last use times in one transaction, keeping the later
// time; rows that are gone or revoked are skipped.
func (s *Store) TouchTokens(used map[string]time.Time) error {
	uses := make(map[string]TokenUse, len(used))
	for id, at := range used {
		uses[id] = TokenUse{At: at}
	}
	return s.RecordUses(uses)
}
