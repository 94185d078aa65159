package store

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/tokens"
)

func TestRotateInPlace(t *testing.T) {
	s := mustOpen(t)
	first := mustIssue(t, s, bob, "cli", "laptop", "tok-1", t0)
	second := mustIssue(t, s, bob, "cli", "laptop", "tok-2", t0.Add(time.Hour))

	if !second.Rotated || second.Token.ID != "tok-1" {
		t.Fatalf("second flow: rotated %v id %q, want rotation of tok-1", second.Rotated, second.Token.ID)
	}
	_, err := s.TokenByHash(first.Token.Hash)
	wantErr(t, "TokenByHash(first token)", err, ErrNotFound)
	got, err := s.TokenByHash(tokens.HashOf(secretFor("tok-2")))
	if err != nil || got.ID != "tok-1" {
		t.Fatalf("TokenByHash(second token) = %+v, %v", got, err)
	}
	if !got.CreatedAt.Equal(first.Token.CreatedAt) || !got.RotatedAt.Equal(t0.Add(time.Hour+2*time.Second)) ||
		!got.ExpiresAt.Equal(t0.Add(time.Hour+2*time.Second+tokenTTL)) {
		t.Errorf("rotated row times: created %v rotated %v expires %v", got.CreatedAt, got.RotatedAt, got.ExpiresAt)
	}
	if n := keyCount(t, s, bucketTokens); n != 1 {
		t.Errorf("%d token rows, want 1", n)
	}
	if n := keyCount(t, s, bucketTokenHashes); n != 1 {
		t.Errorf("%d hash index entries, want 1", n)
	}
	if evs := eventsOfType(t, s, "token.rotated"); len(evs) != 1 || evs[0].TokenID != "tok-1" {
		t.Errorf("token.rotated events = %+v", evs)
	}
}

func TestRotateKeyParts(t *testing.T) {
	tests := []struct {
		name   string
		subj   Subject
		client string
		label  string
	}{
		{"other device label", bob, "cli", "desktop"},
		{"other client", bob, "other-cli", "laptop"},
		{"other issuer, same email", Subject{Type: "external", Email: bob.Email, Issuer: "https://other-idp.example"}, "cli", "laptop"},
		{"other email", Subject{Type: "external", Email: "carol@corp.example", Issuer: bob.Issuer}, "cli", "laptop"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t)
			mustIssue(t, s, bob, "cli", "laptop", "tok-1", t0)
			second := mustIssue(t, s, tc.subj, tc.client, tc.label, "tok-2", t0.Add(time.Hour))
			if second.Rotated || second.Token.ID != "tok-2" {
				t.Errorf("rotated %v id %q, want a new token tok-2", second.Rotated, second.Token.ID)
			}
			for _, id := range []string{"tok-1", "tok-2"} {
				if _, err := s.TokenByHash(tokens.HashOf(secretFor(id))); err != nil {
					t.Errorf("%s stopped working: %v", id, err)
				}
			}
		})
	}
}

func TestRotateAccountTokensUseLocalIssuer(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, alice.AccountID, alice.Email)
	first := mustIssue(t, s, alice, "cli", "laptop", "tok-1", t0)
	if first.Token.SubjectIssuer != LocalIssuer || first.Token.Kind != tokens.Account.Name {
		t.Errorf("account token issuer %q kind %q", first.Token.SubjectIssuer, first.Token.Kind)
	}
	if got := activeID(t, s, alice.Email, LocalIssuer, "cli", "laptop"); got != "tok-1" {
		t.Errorf("active index under LocalIssuer -> %q, want tok-1", got)
	}
	// A re-login on the same device rotates; the SSO identity with the same
	// email is a different subject and gets its own token.
	again := mustIssue(t, s, alice, "cli", "laptop", "tok-2", t0.Add(time.Hour))
	sso := mustIssue(t, s, aliceSSO, "cli", "laptop", "tok-3", t0.Add(2*time.Hour))
	if !again.Rotated || again.Token.ID != "tok-1" {
		t.Errorf("re-login: rotated %v id %q", again.Rotated, again.Token.ID)
	}
	if sso.Rotated || sso.Token.ID != "tok-3" {
		t.Errorf("SSO login: rotated %v id %q", sso.Rotated, sso.Token.ID)
	}
}

func TestRotateSkipsDeadRows(t *testing.T) {
	tests := []struct {
		name string
		kill func(t *testing.T, s *Store, old Issued)
	}{
		{"revoked", func(t *testing.T, s *Store, old Issued) {
			if _, err := s.Revoke(RevokeFilter{TokenID: old.Token.ID, Reason: "test", Actor: "admin", Now: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}},
		{"hard-expired", func(t *testing.T, s *Store, old Issued) {
			if done, err := s.HardExpire(old.Token.Hash, old.Token.ExpiresAt); !done || err != nil {
				t.Fatalf("HardExpire = %v, %v", done, err)
			}
		}},
		{"expired, not yet hard-expired", func(*testing.T, *Store, Issued) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t)
			old := mustIssue(t, s, bob, "cli", "laptop", "tok-1", t0)
			tc.kill(t, s, old)
			later := old.Token.ExpiresAt.Add(time.Hour)
			fresh := mustIssue(t, s, bob, "cli", "laptop", "tok-2", later)
			if fresh.Rotated || fresh.Token.ID != "tok-2" {
				t.Fatalf("rotated %v id %q, want a new token tok-2", fresh.Rotated, fresh.Token.ID)
			}
			if got := activeID(t, s, bob.Email, bob.Issuer, "cli", "laptop"); got != "tok-2" {
				t.Errorf("active index -> %q, want tok-2", got)
			}
			// Retiring the old row now must not unhook the new token.
			s.HardExpire(old.Token.Hash, later)
			got, err := s.TokenByHash(fresh.Token.Hash)
			if err != nil || got.ID != "tok-2" || !got.Live(later) {
				t.Errorf("new token = %+v, %v", got, err)
			}
			if got := activeID(t, s, bob.Email, bob.Issuer, "cli", "laptop"); got != "tok-2" {
				t.Errorf("active index after retiring the old row -> %q, want tok-2", got)
			}
			if old, err := s.TokenByID("tok-1"); err != nil || old.RevokedAt.IsZero() {
				t.Errorf("old row = %+v, %v; want kept and revoked", old, err)
			}
		})
	}
}

func TestHardExpire(t *testing.T) {
	s := mustOpen(t)
	iss := mustIssue(t, s, bob, "cli", "laptop", "tok-1", t0)
	h, exp := iss.Token.Hash, iss.Token.ExpiresAt

	if done, err := s.HardExpire(h, exp.Add(-time.Nanosecond)); done || err != nil {
		t.Fatalf("HardExpire before expiry = %v, %v; want false, nil", done, err)
	}
	if _, err := s.TokenByHash(h); err != nil {
		t.Fatalf("token stopped working before expiry: %v", err)
	}
	if done, err := s.HardExpire(h, exp); !done || err != nil {
		t.Fatalf("HardExpire at expiry = %v, %v; want true, nil", done, err)
	}
	if done, err := s.HardExpire(h, exp.Add(time.Minute)); done || err != nil {
		t.Errorf("second HardExpire = %v, %v; want false, nil", done, err)
	}

	row, err := s.TokenByID("tok-1")
	if err != nil {
		t.Fatal(err)
	}
	if !row.Hash.IsZero() || row.RevokedReason != "expired" || !row.RevokedAt.Equal(exp) {
		t.Errorf("row after hard expiry: hash %v reason %q revoked %v", row.Hash.Short(), row.RevokedReason, row.RevokedAt)
	}
	_, err = s.TokenByHash(h)
	wantErr(t, "TokenByHash after hard expiry", err, ErrNotFound)
	if raw := rawGet(t, s, bucketTokenHashes, h[:]); raw != nil {
		t.Errorf("hash index entry survived: %q", raw)
	}
	if got := activeID(t, s, bob.Email, bob.Issuer, "cli", "laptop"); got != "" {
		t.Errorf("active index entry survived: %q", got)
	}
	evs := eventsOfType(t, s, "token.hard_expired")
	if len(evs) != 1 || evs[0].TokenID != "tok-1" || evs[0].Detail != "expired" {
		t.Errorf("token.hard_expired events = %+v", evs)
	}
}

func TestHardExpireUnknownHash(t *testing.T) {
	s := mustOpen(t)
	if done, err := s.HardExpire(tokens.HashOf("never minted"), t0); done || err != nil {
		t.Errorf("HardExpire(unknown) = %v, %v; want false, nil", done, err)
	}
}

// TestHardExpireConcurrent: many requests present the same expired token at
// once; exactly one retires it and exactly one event is recorded.
func TestHardExpireConcurrent(t *testing.T) {
	const presenters = 20
	s := mustOpen(t)
	iss := mustIssue(t, s, bob, "cli", "laptop", "tok-1", t0)
	now := iss.Token.ExpiresAt.Add(time.Minute)

	start := make(chan struct{})
	done := make([]bool, presenters)
	errs := make([]error, presenters)
	var wg sync.WaitGroup
	for i := range presenters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			done[i], errs[i] = s.HardExpire(iss.Token.Hash, now)
		}()
	}
	close(start)
	wg.Wait()

	wins := 0
	for i := range presenters {
		if errs[i] != nil {
			t.Errorf("presenter %d: %v", i, errs[i])
		}
		if done[i] {
			wins++
		}
	}
	if wins != 1 {
		t.Errorf("%d calls reported the change, want exactly 1", wins)
	}
	if evs := eventsOfType(t, s, "token.hard_expired"); len(evs) != 1 {
		t.Errorf("%d token.hard_expired events, want 1", len(evs))
	}
}

// revokeFixture issues five tokens:
//
//	tok-alice     alice (local) on cli
//	tok-alice-sso alice (SSO) on cli
//	tok-bob       bob on cli
//	tok-bob-other bob on other-cli
//	tok-carol     carol on other-cli
func revokeFixture(t *testing.T) *Store {
	t.Helper()
	s := mustOpen(t)
	mustAccount(t, s, alice.AccountID, alice.Email)
	carol := Subject{Type: "external", Email: "carol@corp.example", Issuer: bob.Issuer}
	mustIssue(t, s, alice, "cli", "laptop", "tok-alice", t0)
	mustIssue(t, s, aliceSSO, "cli", "laptop", "tok-alice-sso", t0)
	mustIssue(t, s, bob, "cli", "laptop", "tok-bob", t0)
	mustIssue(t, s, bob, "other-cli", "laptop", "tok-bob-other", t0)
	mustIssue(t, s, carol, "other-cli", "laptop", "tok-carol", t0)
	return s
}

func TestRevoke(t *testing.T) {
	all := []string{"tok-alice", "tok-alice-sso", "tok-bob", "tok-bob-other", "tok-carol"}
	tests := []struct {
		name   string
		filter RevokeFilter
		want   []string
	}{
		{"by id", RevokeFilter{TokenID: "tok-bob"}, []string{"tok-bob"}},
		{"by hash", RevokeFilter{Hash: tokens.HashOf(secretFor("tok-carol"))}, []string{"tok-carol"}},
		{"by email, every issuer", RevokeFilter{Email: alice.Email}, []string{"tok-alice", "tok-alice-sso"}},
		{"by email, case-insensitive", RevokeFilter{Email: "ALICE@Example.COM"}, []string{"tok-alice", "tok-alice-sso"}},
		{"by email and issuer", RevokeFilter{Email: alice.Email, Issuer: LocalIssuer}, []string{"tok-alice"}},
		{"by client", RevokeFilter{Client: "other-cli"}, []string{"tok-bob-other", "tok-carol"}},
		{"all", RevokeFilter{All: true}, all},
		{"no selector revokes nothing", RevokeFilter{}, nil},
		{"unknown email", RevokeFilter{Email: "nobody@example.com"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := revokeFixture(t)
			now := t0.Add(time.Hour)
			f := tc.filter
			f.Reason, f.Actor, f.Now = "lost laptop", "admin@example.com", now
			res, err := s.Revoke(f)
			if err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			got := slices.Sorted(slices.Values(res.Revoked))
			if !slices.Equal(got, tc.want) || res.AlreadyRevoked != 0 {
				t.Errorf("revoked %v (already %d), want %v", got, res.AlreadyRevoked, tc.want)
			}
			for _, id := range all {
				revoked := slices.Contains(tc.want, id)
				row, err := s.TokenByID(id)
				if err != nil {
					t.Fatal(err)
				}
				_, hashErr := s.TokenByHash(tokens.HashOf(secretFor(id)))
				switch {
				case revoked && (row.RevokedAt.IsZero() || !row.Hash.IsZero() || row.RevokedReason != "lost laptop" || hashErr != ErrNotFound):
					t.Errorf("%s should be revoked: %+v, TokenByHash err %v", id, row, hashErr)
				case !revoked && (!row.RevokedAt.IsZero() || hashErr != nil):
					t.Errorf("%s should be untouched: %+v, TokenByHash err %v", id, row, hashErr)
				}
			}
			if evs := eventsOfType(t, s, "token.revoked"); len(evs) != len(tc.want) {
				t.Errorf("%d token.revoked events, want %d", len(evs), len(tc.want))
			}

			// Twice is not an error; the second pass counts, changes nothing.
			if f.Hash.IsZero() {
				res, err = s.Revoke(f)
				if err != nil || len(res.Revoked) != 0 || res.AlreadyRevoked != len(tc.want) {
					t.Errorf("second Revoke = %+v, %v; want 0 revoked, %d already", res, err, len(tc.want))
				}
			}
		})
	}
}

func TestRevokeByHashTwice(t *testing.T) {
	s := revokeFixture(t)
	f := RevokeFilter{Hash: tokens.HashOf(secretFor("tok-bob")), Now: t0.Add(time.Hour)}
	if _, err := s.Revoke(f); err != nil {
		t.Fatal(err)
	}
	// The hash is cleared at revocation, so it names no token any more.
	_, err := s.Revoke(f)
	wantErr(t, "second revoke by hash", err, ErrNotFound)
}

func TestRevokeUnknownToken(t *testing.T) {
	s := revokeFixture(t)
	_, err := s.Revoke(RevokeFilter{TokenID: "tok-nope", Now: t0})
	wantErr(t, "Revoke(unknown id)", err, ErrNotFound)
	_, err = s.Revoke(RevokeFilter{Hash: tokens.HashOf("nope"), Now: t0})
	wantErr(t, "Revoke(unknown hash)", err, ErrNotFound)
}

func TestRevokeDeniesApprovedCodes(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, alice.AccountID, alice.Email)
	mustIssue(t, s, alice, "cli", "laptop", "tok-alice", t0)
	aliceCode := mustCreateCode(t, s, "BCDFGHJK", "cli", "desktop", t0)
	mustResolve(t, s, "BCDFGHJK", true, alice, t0.Add(time.Second))
	bobCode := mustCreateCode(t, s, "MNPQRSTV", "cli", "desktop", t0)
	mustResolve(t, s, "MNPQRSTV", true, bob, t0.Add(time.Second))
	pending := mustCreateCode(t, s, "WXZBCDFG", "cli", "phone", t0)

	res, err := s.Revoke(RevokeFilter{Email: alice.Email, Now: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if res.DeniedCodes != 1 || !slices.Equal(res.Revoked, []string{"tok-alice"}) {
		t.Errorf("Revoke = %+v, want tok-alice revoked and 1 denied code", res)
	}
	_, err = s.ConsumeDeviceCode(mintFor(aliceCode, tokens.Account, "tok-new", t0.Add(2*time.Minute)))
	wantErr(t, "consume alice's approved code after revoke", err, ErrDenied)
	if got, _ := s.DeviceCodeByHash(pending.Hash); got.Status != StatusPending {
		t.Errorf("pending code became %q", got.Status)
	}
	if _, err := s.ConsumeDeviceCode(mintFor(bobCode, tokens.External, "tok-bob", t0.Add(2*time.Minute))); err != nil {
		t.Errorf("bob's approved code: %v", err)
	}
}

func TestRevokeByIDLeavesCodes(t *testing.T) {
	s := mustOpen(t)
	mustIssue(t, s, bob, "cli", "laptop", "tok-bob", t0)
	dc := mustCreateCode(t, s, "BCDFGHJK", "cli", "desktop", t0)
	mustResolve(t, s, "BCDFGHJK", true, bob, t0.Add(time.Second))
	res, err := s.Revoke(RevokeFilter{TokenID: "tok-bob", Now: t0.Add(time.Minute)})
	if err != nil || res.DeniedCodes != 0 {
		t.Fatalf("Revoke = %+v, %v", res, err)
	}
	if got, _ := s.DeviceCodeByHash(dc.Hash); got.Status != StatusApproved {
		t.Errorf("code became %q after revoking one token", got.Status)
	}
}

// Revoking one token also denies an approved, unpolled code for the same
// device (it would mint that token again), and only that one.
func TestRevokeByIDDeniesTheSameDevicesApprovedCode(t *testing.T) {
	for _, by := range []string{"id", "hash"} {
		t.Run(by, func(t *testing.T) {
			s := mustOpen(t)
			iss := mustIssue(t, s, bob, "cli", "laptop", "tok-bob", t0)
			same := mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0)
			mustResolve(t, s, "BCDFGHJK", true, bob, t0.Add(time.Second))
			f := RevokeFilter{TokenID: "tok-bob", Now: t0.Add(time.Minute)}
			if by == "hash" {
				f = RevokeFilter{Hash: iss.Token.Hash, Now: t0.Add(time.Minute)}
			}
			res, err := s.Revoke(f)
			if err != nil || res.DeniedCodes != 1 {
				t.Fatalf("Revoke = %+v, %v; want 1 denied code", res, err)
			}
			if got, _ := s.DeviceCodeByHash(same.Hash); got.Status != StatusDenied {
				t.Errorf("the same device's approved code is %q, want denied", got.Status)
			}
			_, err = s.ConsumeDeviceCode(mintFor(same, kindFor(bob), "tok-new", t0.Add(2*time.Minute)))
			wantErr(t, "poll after the revoke", err, ErrDenied)
		})
	}
}

// Revoking a token that is already dead changes nothing: a repeated
// revoke (revoking twice is not an error) never denies the fresh login the
// same device has been approved for since.
func TestRevokeAgainLeavesTheNextLoginAlone(t *testing.T) {
	s := mustOpen(t)
	mustIssue(t, s, bob, "cli", "laptop", "tok-bob", t0)
	if _, err := s.Revoke(RevokeFilter{TokenID: "tok-bob", Now: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	next := mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0.Add(2*time.Minute))
	mustResolve(t, s, "BCDFGHJK", true, bob, t0.Add(3*time.Minute))
	res, err := s.Revoke(RevokeFilter{TokenID: "tok-bob", Now: t0.Add(4 * time.Minute)})
	if err != nil || res.AlreadyRevoked != 1 || res.DeniedCodes != 0 {
		t.Fatalf("second Revoke = %+v, %v; want already revoked and no denied code", res, err)
	}
	if got, _ := s.DeviceCodeByHash(next.Hash); got.Status != StatusApproved {
		t.Errorf("the new login's approved code is %q after a repeated revoke, want approved", got.Status)
	}
}

// Revoking a token that expired (not yet retired) denies no approved code
// either: the device's new login is not a revival of the dead token.
func TestRevokeOfAnExpiredTokenLeavesTheNextLoginAlone(t *testing.T) {
	s := mustOpen(t)
	mustIssue(t, s, bob, "cli", "laptop", "tok-bob", t0)
	later := t0.Add(tokenTTL + time.Hour)
	next := mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", later)
	mustResolve(t, s, "BCDFGHJK", true, bob, later.Add(time.Second))
	res, err := s.Revoke(RevokeFilter{TokenID: "tok-bob", Now: later.Add(time.Minute)})
	if err != nil || res.DeniedCodes != 0 {
		t.Fatalf("Revoke of the expired token = %+v, %v; want no denied code", res, err)
	}
	if got, _ := s.DeviceCodeByHash(next.Hash); got.Status != StatusApproved {
		t.Errorf("the new login's approved code is %q, want approved", got.Status)
	}
}

func TestListTokens(t *testing.T) {
	s := revokeFixture(t)
	now := t0.Add(time.Hour)
	if _, err := s.Revoke(RevokeFilter{TokenID: "tok-carol", Now: now}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    TokenFilter
		want []string
	}{
		{"live", TokenFilter{Now: now}, []string{"tok-alice", "tok-alice-sso", "tok-bob", "tok-bob-other"}},
		{"with dead", TokenFilter{Now: now, IncludeDead: true}, []string{"tok-alice", "tok-alice-sso", "tok-bob", "tok-bob-other", "tok-carol"}},
		{"email", TokenFilter{Now: now, Email: "Alice@example.com"}, []string{"tok-alice", "tok-alice-sso"}},
		{"email and issuer", TokenFilter{Now: now, Email: alice.Email, Issuer: aliceSSO.Issuer}, []string{"tok-alice-sso"}},
		{"client", TokenFilter{Now: now, Client: "other-cli", IncludeDead: true}, []string{"tok-bob-other", "tok-carol"}},
		{"all expired", TokenFilter{Now: t0.Add(2 * tokenTTL)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := s.ListTokens(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestActiveKeyInjective(t *testing.T) {
	keys := [][4]string{
		{"a", "bc", "d", "e"},
		{"ab", "c", "d", "e"},
		{"a", "b", "cd", "e"},
		{"a", "b", "c", "de"},
		{"a\x00", "b", "c", "d"},
		{"", "", "", ""},
		{"", "", "", "\x00\x00"},
	}
	seen := map[string][4]string{}
	for _, k := range keys {
		ak := string(activeKey(k[0], k[1], k[2], k[3]))
		if prev, dup := seen[ak]; dup {
			t.Errorf("activeKey%q == activeKey%q", k, prev)
		}
		seen[ak] = k
	}
}

// ListTokens finds a subject's live tokens through the active index; it
// must return exactly what a walk of every row returns: across issuers,
// emails that are prefixes of one another, any letter case, rotated,
// revoked and expired rows.
func TestListTokensOfASubjectMatchesAFullWalk(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, alice.AccountID, alice.Email)
	al := Subject{Type: tokens.External.SubjectType, Email: "alice@example.co", Issuer: aliceSSO.Issuer}
	mustIssue(t, s, alice, "cli", "laptop", "tok-a1", t0)
	mustIssue(t, s, alice, "cli", "desktop", "tok-a2", t0)
	mustIssue(t, s, alice, "other-cli", "laptop", "tok-a3", t0)
	mustIssue(t, s, aliceSSO, "cli", "laptop", "tok-as1", t0)
	mustIssue(t, s, Subject{Type: aliceSSO.Type, Email: "ALICE@example.com", Issuer: aliceSSO.Issuer}, "cli", "laptop", "tok-as2", t0.Add(time.Hour)) // rotates tok-as1
	mustIssue(t, s, aliceSSO, "cli", "phone", "tok-as3", t0)
	mustIssue(t, s, al, "cli", "laptop", "tok-al", t0)
	mustIssue(t, s, bob, "cli", "laptop", "tok-b1", t0)
	mustIssue(t, s, bob, "cli", "old", "tok-b2", t0.Add(-tokenTTL)) // expired by the listing time
	if _, err := s.Revoke(RevokeFilter{TokenID: "tok-a2", Now: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(2 * time.Hour)
	all, err := s.ListTokens(TokenFilter{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct{ email, issuer string }{
		{alice.Email, LocalIssuer}, {alice.Email, aliceSSO.Issuer}, {"Alice@Example.COM", aliceSSO.Issuer},
		{al.Email, al.Issuer}, {bob.Email, bob.Issuer}, {bob.Email, LocalIssuer}, {"nobody@example.com", LocalIssuer},
	} {
		got, err := s.ListTokens(TokenFilter{Email: q.email, Issuer: q.issuer, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, tok := range all {
			if strings.EqualFold(tok.SubjectEmail, q.email) && tok.SubjectIssuer == q.issuer {
				want = append(want, tok.ID)
			}
		}
		var ids []string
		for _, tok := range got {
			ids = append(ids, tok.ID)
		}
		if !slices.Equal(ids, want) {
			t.Errorf("ListTokens(%s, %s) = %v, a full walk finds %v", q.email, q.issuer, ids, want)
		}
	}
	if got, _ := s.ListTokens(TokenFilter{Email: alice.Email, Issuer: LocalIssuer, Now: now}); len(got) != 2 {
		t.Errorf("alice's local tokens: %d, want 2 (tok-a1, tok-a3; tok-a2 revoked)", len(got))
	}
}
