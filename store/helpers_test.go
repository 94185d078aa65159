package store

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"gatehouse/tokens"
)

// t0 is the injected clock's origin; tests add durations to it and never
// read the wall clock for store decisions.
var t0 = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

const (
	codeTTL  = 10 * time.Minute
	tokenTTL = 24 * time.Hour
)

// Subjects used across tests. alice is a local account (it needs an account
// row, see mustAccount); bob signs in through SSO and needs none.
var (
	alice = Subject{Type: tokens.Account.SubjectType, Email: "alice@example.com", Issuer: LocalIssuer,
		AccountID: "acc-alice", WorkspaceID: "ws-1"}
	aliceSSO = Subject{Type: tokens.External.SubjectType, Email: "alice@example.com", Issuer: "https://idp.example"}
	bob      = Subject{Type: tokens.External.SubjectType, Email: "bob@corp.example", Issuer: "https://idp.corp.example"}
)

// mustOpen opens a Store in a fresh temporary directory. On cleanup it runs
// bbolt's consistency check and fails the test on any finding, then closes,
// so every test also checks the file it leaves behind.
func mustOpen(tb testing.TB) *Store {
	tb.Helper()
	return mustOpenDir(tb, tb.TempDir())
}

// mustOpenDir is mustOpen on a given directory (a reopen, a fixture copy).
func mustOpenDir(tb testing.TB, dir string) *Store {
	tb.Helper()
	s, err := Open(dir, Options{LockTimeout: 200 * time.Millisecond})
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	tb.Cleanup(func() { mustClose(tb, s) })
	return s
}

// mustClose checks then closes s. A store the test already closed (to
// reopen its file) is left alone.
func mustClose(tb testing.TB, s *Store) {
	tb.Helper()
	err := s.Check()
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return
	}
	if err != nil {
		tb.Errorf("consistency check of %s: %v", s.Path(), err)
	}
	if err := s.Close(); err != nil {
		tb.Errorf("close %s: %v", s.Path(), err)
	}
}

// mustReopen closes s (after its check) and opens its directory again.
func mustReopen(tb testing.TB, s *Store, dir string) *Store {
	tb.Helper()
	mustClose(tb, s)
	return mustOpenDir(tb, dir)
}

// userCodeFor derives a well-formed, practically unique user code from seed.
func userCodeFor(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	out := make([]byte, tokens.UserCodeLength)
	for i := range out {
		out[i] = tokens.UserCodeAlphabet[int(sum[i])%len(tokens.UserCodeAlphabet)]
	}
	return string(out)
}

// pendingCode is a code as the device endpoint builds it at `at`.
func pendingCode(userCode, client, label string, at time.Time) DeviceCode {
	return DeviceCode{
		Hash:        tokens.HashOf(fmt.Sprintf("device-code/%s/%d", userCode, at.UnixNano())),
		UserCode:    userCode,
		ClientID:    client,
		DeviceLabel: label,
		Scope:       "apps:run",
		RequesterIP: "192.0.2.10",
		Interval:    5,
		CreatedAt:   at,
		ExpiresAt:   at.Add(codeTTL),
	}
}

func mustCreateCode(tb testing.TB, s *Store, userCode, client, label string, at time.Time) DeviceCode {
	tb.Helper()
	dc := pendingCode(userCode, client, label, at)
	if err := s.CreateDeviceCode(dc); err != nil {
		tb.Fatalf("CreateDeviceCode(%s): %v", userCode, err)
	}
	dc.Status = StatusPending
	return dc
}

func mustResolve(tb testing.TB, s *Store, userCode string, approve bool, subj Subject, at time.Time) DeviceCode {
	tb.Helper()
	dc, err := s.ResolveDeviceCode(Resolution{UserCode: userCode, Approve: approve, Subject: subj, IP: "198.51.100.7", Now: at})
	if err != nil {
		tb.Fatalf("ResolveDeviceCode(%s, approve=%v): %v", userCode, approve, err)
	}
	return dc
}

// kindFor is the token kind the poll handler picks for a subject.
func kindFor(subj Subject) tokens.Kind {
	if subj.AccountID != "" {
		return tokens.Account
	}
	return tokens.External
}

// secretFor is the plaintext token the poll handler would hand out for id;
// only its hash reaches the store.
func secretFor(id string) string { return "dfoe_secret-of-" + id }

// mintFor is the Mint the poll handler prepares for dc at `at`.
func mintFor(dc DeviceCode, kind tokens.Kind, id string, at time.Time) Mint {
	secret := secretFor(id)
	return Mint{DeviceHash: dc.Hash, ClientID: dc.ClientID, Kind: kind, NewID: id,
		TokenHash: tokens.HashOf(secret), Prefix: tokens.DisplayPrefix(secret), TTL: tokenTTL,
		IP: "192.0.2.10", Now: at}
}

// mustIssue runs a whole device flow at `at`: create, approve, consume.
func mustIssue(tb testing.TB, s *Store, subj Subject, client, label, id string, at time.Time) Issued {
	tb.Helper()
	uc := userCodeFor(id + at.String())
	mustCreateCode(tb, s, uc, client, label, at)
	dc := mustResolve(tb, s, uc, true, subj, at.Add(time.Second))
	iss, err := s.ConsumeDeviceCode(mintFor(dc, kindFor(subj), id, at.Add(2*time.Second)))
	if err != nil {
		tb.Fatalf("ConsumeDeviceCode(%s): %v", id, err)
	}
	return iss
}

func mustAccount(tb testing.TB, s *Store, id, email string, workspaces ...string) Account {
	tb.Helper()
	n := 0
	a, err := s.CreateAccount(NewAccount{
		Account:      Account{ID: id, Email: email, Name: id, Role: "member", PasswordHash: "$argon2id$placeholder", CreatedAt: t0},
		Workspaces:   workspaces,
		WorkspaceIDs: func() string { n++; return fmt.Sprintf("ws-%s-%d", id, n) },
	})
	if err != nil {
		tb.Fatalf("CreateAccount(%s): %v", email, err)
	}
	return a
}

// rawGet reads one key of one bucket, copied out of the transaction; nil
// when absent.
func rawGet(tb testing.TB, s *Store, bucket, key []byte) []byte {
	tb.Helper()
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		out = clone(tx.Bucket(bucket).Get(key))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func keyCount(tb testing.TB, s *Store, bucket []byte) int {
	tb.Helper()
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func eventsOfType(tb testing.TB, s *Store, typ string) []Event {
	tb.Helper()
	all, err := s.Events(time.Time{}, 0)
	if err != nil {
		tb.Fatalf("Events: %v", err)
	}
	var out []Event
	for _, ev := range all {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func wantErr(tb testing.TB, what string, got, want error) {
	tb.Helper()
	if !errors.Is(got, want) {
		tb.Fatalf("%s: err = %v, want %v", what, got, want)
	}
}

func activeID(tb testing.TB, s *Store, email, issuer, client, label string) string {
	tb.Helper()
	return string(rawGet(tb, s, bucketTokenActive, activeKey(email, issuer, client, label)))
}

// seedTokens writes rows straight into the token buckets, many per
// transaction, for fixtures too large to build one flow at a time. Each row
// gets its hash index entry (unless cleared) and, unless revoked, its
// active-index entry, as mints and retirements leave them.
func seedTokens(tb testing.TB, s *Store, rows []Token) {
	tb.Helper()
	const perTx = 10000
	for start := 0; start < len(rows); start += perTx {
		chunk := rows[start:min(start+perTx, len(rows))]
		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, t := range chunk {
				if err := putToken(tx, t); err != nil {
					return err
				}
				if !t.RevokedAt.IsZero() {
					continue
				}
				key := activeKey(t.SubjectEmail, t.SubjectIssuer, t.ClientID, t.DeviceLabel)
				if err := tx.Bucket(bucketTokenActive).Put(key, []byte(t.ID)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("seed tokens: %v", err)
		}
	}
}

// seedRow is a live external token row with id i, as a mint would write it.
func seedRow(i int, now time.Time) Token {
	id := fmt.Sprintf("tok-%07d", i)
	return Token{ID: id, Hash: tokens.HashOf(secretFor(id)), Kind: tokens.External.Name, Prefix: "dfoe_xxxx",
		SubjectEmail: fmt.Sprintf("user%d@example.com", i), SubjectIssuer: "https://idp.example",
		ClientID: "cli", DeviceLabel: "laptop", CreatedAt: now, ExpiresAt: now.Add(tokenTTL)}
}
