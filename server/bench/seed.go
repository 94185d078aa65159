package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/server"
	"gatehouse/store"
	"gatehouse/tokens"
)

// BENCH-ONLY SEEDING. Minting a token through the store API takes three
// durable transactions (create, approve, consume); a million of them would
// take longer than the benchmark. seedTokens instead writes token rows
// straight into the bbolt file, 10,000 per transaction, in the layout that
// store/doc.go draws. Before it writes anything, checkLayout mints one token
// the real way and proves the raw layout below reads it back byte for byte;
// if the store's layout has moved on, the harness stops with a message
// instead of seeding rows the server cannot read. Nothing outside this
// package may use this code.

// Bucket names from store/doc.go (unexported in package store).
var (
	bucketTokens      = []byte("tokens")
	bucketTokenHashes = []byte("token_hashes")
	bucketTokenActive = []byte("token_active")
)

// seedPerTx is how many token rows one seeding transaction writes.
const seedPerTx = 10_000

// errLayout means the store's bucket layout no longer matches this seeder.
var errLayout = errors.New("store layout differs from the bench seeder (server/bench/seed.go); update it from store/doc.go")

// activeKey mirrors store's active-per-device key: four length-prefixed
// fields, the email case-folded.
func activeKey(email, issuer, clientID, label string) []byte {
	var out []byte
	for _, f := range []string{strings.ToLower(email), issuer, clientID, label} {
		out = append(out, byte(len(f)>>8), byte(len(f)))
		out = append(out, f...)
	}
	return out
}

// tokenSet names a family of seeded tokens; token i of a set is derived
// from the set name and i, so the load generator recomputes any token's
// plaintext instead of holding a million strings.
type tokenSet string

func (s tokenSet) digest(what string, i int) [32]byte {
	return sha256.Sum256([]byte(string(s) + "/" + what + "/" + strconv.Itoa(i)))
}

// secret is token i's plaintext: an account token of the real shape.
func (s tokenSet) secret(i int) string {
	d := s.digest("secret", i)
	return tokens.Account.Prefix + base64.RawURLEncoding.EncodeToString(d[:])
}

// id is token i's row id: random-looking, like the server's, so rows land
// in the tree in random order as real mints do.
func (s tokenSet) id(i int) string {
	d := s.digest("id", i)
	return "tok_" + base64.RawURLEncoding.EncodeToString(d[:12])
}

// benchAccount is a seeded local account that seeded tokens belong to.
type benchAccount struct {
	ID, Email, Workspace string
}

const benchPassword = "bench password, not secret"

// cheapArgon2 keeps account creation fast; sign-in cost is not measured.
var cheapArgon2 = tokens.Argon2Params{Memory: 1024, Time: 1, Threads: 1}

// createAccounts makes n member accounts through the server's own API.
func createAccounts(st *store.Store, n int, now time.Time) ([]benchAccount, error) {
	out := make([]benchAccount, 0, n)
	for i := range n {
		email := fmt.Sprintf("bench-%03d@example.com", i)
		if _, err := server.CreateAccount(st, email, "Bench "+strconv.Itoa(i), "member", benchPassword, []string{"default"}, cheapArgon2, now); err != nil {
			return nil, err
		}
		a, err := st.AccountByEmail(email)
		if err != nil {
			return nil, err
		}
		_, ms, err := st.AccountByID(a.ID)
		if err != nil || len(ms) == 0 {
			return nil, fmt.Errorf("account %s has no workspace: %v", email, err)
		}
		out = append(out, benchAccount{ID: a.ID, Email: a.Email, Workspace: ms[0].Workspace.ID})
	}
	return out, nil
}

// row is token i of set: an account token for one of accts, on its own
// device label (so every row has its own active-index entry), created at
// created and expiring at expires.
func (s tokenSet) row(i int, accts []benchAccount, created, expires time.Time) store.Token {
	a := accts[i%len(accts)]
	plain := s.secret(i)
	return store.Token{ID: s.id(i), Hash: tokens.HashOf(plain), Kind: tokens.Account.Name, Prefix: tokens.DisplayPrefix(plain),
		SubjectEmail: a.Email, SubjectIssuer: store.LocalIssuer, AccountID: a.ID, WorkspaceID: a.Workspace,
		ClientID: server.DefaultClientID, DeviceLabel: string(s) + "-" + strconv.Itoa(i), CreatedAt: created, ExpiresAt: expires}
}

// seedTokens writes n rows of set, seedPerTx per transaction, with their
// hash and active-index entries, as a mint leaves them. fsync is off while
// seeding and the file is synced once at the end.
func seedTokens(st *store.Store, n int, gen func(i int) store.Token) error {
	db := st.DB()
	db.NoSync = true
	defer func() { db.NoSync = false }()
	for start := 0; start < n; start += seedPerTx {
		err := db.Update(func(tx *bolt.Tx) error {
			for i := start; i < min(start+seedPerTx, n); i++ {
				if err := putRawToken(tx, gen(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed tokens %d..: %w", start, err)
		}
	}
	return db.Sync()
}

func putRawToken(tx *bolt.Tx, t store.Token) error {
	rows, hashes, active := tx.Bucket(bucketTokens), tx.Bucket(bucketTokenHashes), tx.Bucket(bucketTokenActive)
	if rows == nil || hashes == nil || active == nil {
		return errLayout
	}
	if err := rows.Put([]byte(t.ID), store.EncodeTokenRow(t)); err != nil {
		return err
	}
	if err := hashes.Put(t.Hash[:], []byte(t.ID)); err != nil {
		return err
	}
	return active.Put(activeKey(t.SubjectEmail, t.SubjectIssuer, t.ClientID, t.DeviceLabel), []byte(t.ID))
}

// checkLayout mints one token through the store API (create, approve,
// consume) and checks that the raw layout seedTokens writes is exactly what
// the store wrote: the row is store.EncodeTokenRow(store.Token), and both indexes
// point at it under the keys seedTokens uses.
func checkLayout(st *store.Store, a benchAccount, now time.Time) error {
	t, err := mintReal(st, a, now)
	if err != nil {
		return fmt.Errorf("mint a reference token: %w", err)
	}
	return st.DB().View(func(tx *bolt.Tx) error {
		rows, hashes, active := tx.Bucket(bucketTokens), tx.Bucket(bucketTokenHashes), tx.Bucket(bucketTokenActive)
		if rows == nil || hashes == nil || active == nil {
			return fmt.Errorf("%w: token buckets not found", errLayout)
		}
		raw := rows.Get([]byte(t.ID))
		if raw == nil || !bytes.Equal(raw, store.EncodeTokenRow(t)) {
			return fmt.Errorf("%w: token row under its id is not store.EncodeTokenRow(token)", errLayout)
		}
		if string(hashes.Get(t.Hash[:])) != t.ID {
			return fmt.Errorf("%w: hash index", errLayout)
		}
		if string(active.Get(activeKey(t.SubjectEmail, t.SubjectIssuer, t.ClientID, t.DeviceLabel))) != t.ID {
			return fmt.Errorf("%w: active-per-device index", errLayout)
		}
		return nil
	})
}

// mintReal runs one flow through the store: create, approve, consume.
func mintReal(st *store.Store, a benchAccount, now time.Time) (store.Token, error) {
	code, err := tokens.NewDeviceCode()
	if err != nil {
		return store.Token{}, err
	}
	uc, err := tokens.NewUserCode()
	if err != nil {
		return store.Token{}, err
	}
	dc := store.DeviceCode{Hash: tokens.HashOf(code), UserCode: uc, ClientID: server.DefaultClientID,
		DeviceLabel: "layout-check", Interval: 1, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if err := st.CreateDeviceCode(dc); err != nil {
		return store.Token{}, err
	}
	subj := store.Subject{Type: tokens.Account.SubjectType, Email: a.Email, Issuer: store.LocalIssuer, AccountID: a.ID, WorkspaceID: a.Workspace}
	if _, err := st.ResolveDeviceCode(store.Resolution{UserCode: uc, Approve: true, Subject: subj, Now: now}); err != nil {
		return store.Token{}, err
	}
	plain, h, err := tokens.Account.New()
	if err != nil {
		return store.Token{}, err
	}
	iss, err := st.ConsumeDeviceCode(store.Mint{DeviceHash: dc.Hash, ClientID: dc.ClientID, Kind: tokens.Account,
		NewID: "tok_layoutcheck", TokenHash: h, Prefix: tokens.DisplayPrefix(plain), TTL: time.Hour, Now: now})
	return iss.Token, err
}

// checkSeeded looks a few seeded tokens up through the store API.
func checkSeeded(st *store.Store, set tokenSet, n int) error {
	for _, i := range []int{0, n / 2, n - 1} {
		t, err := st.TokenByHash(tokens.HashOf(set.secret(i)))
		if err != nil || t.ID != set.id(i) {
			return fmt.Errorf("%w: seeded token %d not found by hash (%v)", errLayout, i, err)
		}
	}
	return nil
}
