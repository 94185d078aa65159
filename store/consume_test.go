package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gatehouse/tokens"
)

func TestConsumeDeviceCodeRefusals(t *testing.T) {
	tests := []struct {
		name    string
		resolve func(t *testing.T, s *Store) // after the code is created at t0
		client  string
		at      time.Duration
		wantErr error
	}{
		{"pending", func(*testing.T, *Store) {}, "cli", time.Minute, ErrPending},
		{"denied", func(t *testing.T, s *Store) {
			mustResolve(t, s, "BCDFGHJK", false, bob, t0.Add(time.Second))
		}, "cli", time.Minute, ErrDenied},
		{"wrong client", func(t *testing.T, s *Store) {
			mustResolve(t, s, "BCDFGHJK", true, bob, t0.Add(time.Second))
		}, "other-cli", time.Minute, ErrWrongClient},
		{"approved but expired", func(t *testing.T, s *Store) {
			mustResolve(t, s, "BCDFGHJK", true, bob, t0.Add(time.Second))
		}, "cli", codeTTL, ErrExpired},
		{"pending and expired", func(*testing.T, *Store) {}, "cli", codeTTL + time.Hour, ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t)
			dc := mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0)
			tc.resolve(t, s)
			m := mintFor(dc, tokens.External, "tok-1", t0.Add(tc.at))
			m.ClientID = tc.client
			_, err := s.ConsumeDeviceCode(m)
			wantErr(t, "ConsumeDeviceCode", err, tc.wantErr)

			// A refused poll changes nothing: the code stays, no token.
			if _, err := s.DeviceCodeByHash(dc.Hash); err != nil {
				t.Errorf("code gone after a refused poll: %v", err)
			}
			if _, err := s.DeviceCodeByUserCode("BCDFGHJK"); err != nil {
				t.Errorf("user code index gone after a refused poll: %v", err)
			}
			for _, b := range [][]byte{bucketTokens, bucketTokenHashes, bucketTokenActive} {
				if n := keyCount(t, s, b); n != 0 {
					t.Errorf("%s has %d keys after a refused poll", b, n)
				}
			}
		})
	}
}

func TestConsumeDeviceCodeUnknown(t *testing.T) {
	s := mustOpen(t)
	_, err := s.ConsumeDeviceCode(Mint{DeviceHash: tokens.HashOf("never issued"), ClientID: "cli",
		Kind: tokens.External, NewID: "tok-1", TokenHash: tokens.HashOf("x"), Now: t0})
	wantErr(t, "ConsumeDeviceCode", err, ErrNotFound)
}

func TestConsumeDeviceCodeMints(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, alice.AccountID, alice.Email)
	dc := mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0)
	dc = mustResolve(t, s, "BCDFGHJK", true, alice, t0.Add(time.Minute))
	at := t0.Add(2 * time.Minute)
	m := mintFor(dc, tokens.Account, "tok-1", at)

	iss, err := s.ConsumeDeviceCode(m)
	if err != nil {
		t.Fatalf("ConsumeDeviceCode: %v", err)
	}
	want := Token{ID: "tok-1", Hash: m.TokenHash, Kind: "account", Prefix: m.Prefix,
		SubjectEmail: alice.Email, SubjectIssuer: LocalIssuer, AccountID: alice.AccountID,
		WorkspaceID: alice.WorkspaceID, ClientID: "cli", DeviceLabel: "laptop",
		CreatedAt: at, ExpiresAt: at.Add(tokenTTL)}
	if !sameToken(iss.Token, want) {
		t.Errorf("issued token\n got %+v\nwant %+v", iss.Token, want)
	}
	if iss.Rotated || iss.Code.Hash != dc.Hash || iss.Code.Status != StatusApproved {
		t.Errorf("Issued = rotated %v, code %+v", iss.Rotated, iss.Code)
	}

	// Token row, hash index and active index are written...
	stored, err := s.TokenByID("tok-1")
	if err != nil || !sameToken(stored, want) {
		t.Errorf("TokenByID = %+v, %v", stored, err)
	}
	byHash, err := s.TokenByHash(m.TokenHash)
	if err != nil || byHash.ID != "tok-1" {
		t.Errorf("TokenByHash = %+v, %v", byHash, err)
	}
	if got := activeID(t, s, alice.Email, LocalIssuer, "cli", "laptop"); got != "tok-1" {
		t.Errorf("active index -> %q, want tok-1", got)
	}
	// ...and the code and its user_code index are gone.
	_, err = s.DeviceCodeByHash(dc.Hash)
	wantErr(t, "DeviceCodeByHash after consume", err, ErrNotFound)
	if raw := rawGet(t, s, bucketUserCodes, []byte("BCDFGHJK")); raw != nil {
		t.Errorf("user_code index survived the consume: %x", raw)
	}
	if evs := eventsOfType(t, s, "token.minted"); len(evs) != 1 || evs[0].TokenID != "tok-1" {
		t.Errorf("token.minted events = %+v", evs)
	}

	// The code is single use.
	_, err = s.ConsumeDeviceCode(mintFor(dc, tokens.Account, "tok-2", at.Add(time.Second)))
	wantErr(t, "second ConsumeDeviceCode", err, ErrNotFound)
	if n := keyCount(t, s, bucketTokens); n != 1 {
		t.Errorf("%d token rows after a second consume, want 1", n)
	}
}

// sameToken compares rows, times by instant (JSON drops the monotonic
// reading and may change the location).
func sameToken(a, b Token) bool {
	times := func(t Token) [5]time.Time {
		return [5]time.Time{t.CreatedAt, t.RotatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt}
	}
	ta, tb := times(a), times(b)
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	a.CreatedAt, a.RotatedAt, a.ExpiresAt, a.LastUsedAt, a.RevokedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	b.CreatedAt, b.RotatedAt, b.ExpiresAt, b.LastUsedAt, b.RevokedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func TestConsumeDeviceCodeAccountGone(t *testing.T) {
	tests := []struct {
		name        string
		withAccount bool
		change      func(t *testing.T, s *Store)
	}{
		{"disabled between approve and consume", true, func(t *testing.T, s *Store) {
			disable := true
			if _, err := s.UpdateAccount(AccountUpdate{Email: alice.Email, Disable: &disable, Now: t0.Add(90 * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}},
		{"account row missing", false, func(*testing.T, *Store) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t)
			if tc.withAccount {
				mustAccount(t, s, alice.AccountID, alice.Email)
			}
			mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0)
			dc := mustResolve(t, s, "BCDFGHJK", true, alice, t0.Add(time.Minute))
			tc.change(t, s)
			_, err := s.ConsumeDeviceCode(mintFor(dc, tokens.Account, "tok-1", t0.Add(2*time.Minute)))
			wantErr(t, "ConsumeDeviceCode", err, ErrDenied)
			if n := keyCount(t, s, bucketTokens); n != 0 {
				t.Errorf("%d token rows, want none", n)
			}
		})
	}
}

// TestConsumeDeviceCodeExactlyOnce is the consume-on-poll rule under load:
// many polls of one approved code race; one mints, the rest see no code.
// Run with -race.
func TestConsumeDeviceCodeExactlyOnce(t *testing.T) {
	const pollers = 50
	s := mustOpen(t)
	mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0)
	dc := mustResolve(t, s, "BCDFGHJK", true, bob, t0.Add(time.Minute))

	start := make(chan struct{})
	errs := make([]error, pollers)
	issued := make([]Issued, pollers)
	var wg sync.WaitGroup
	for i := range pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			issued[i], errs[i] = s.ConsumeDeviceCode(mintFor(dc, tokens.External, fmt.Sprintf("tok-%02d", i), t0.Add(2*time.Minute)))
		}()
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("pollers %d and %d both minted", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, ErrNotFound):
			t.Errorf("poller %d: err = %v, want ErrNotFound", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no poller minted")
	}
	if n := keyCount(t, s, bucketTokens); n != 1 {
		t.Errorf("%d token rows, want 1", n)
	}
	if n := keyCount(t, s, bucketTokenHashes); n != 1 {
		t.Errorf("%d hash index entries, want 1", n)
	}
	if got, err := s.TokenByHash(tokens.HashOf(secretFor(issued[winner].Token.ID))); err != nil || got.ID != issued[winner].Token.ID {
		t.Errorf("winner's token does not resolve: %+v, %v", got, err)
	}
	if evs := eventsOfType(t, s, "token.minted"); len(evs) != 1 {
		t.Errorf("%d token.minted events, want 1", len(evs))
	}
}
