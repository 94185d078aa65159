package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"gatehouse/tokens"
)

func TestCreateAccount(t *testing.T) {
	s := mustOpen(t)
	a := mustAccount(t, s, "acc-1", "  Alice@Example.com ", "Acme", "Research")
	if a.Email != "Alice@Example.com" {
		t.Errorf("email stored as %q, want trimmed", a.Email)
	}
	for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", " Alice@Example.com"} {
		got, err := s.AccountByEmail(email)
		if err != nil || got.ID != "acc-1" {
			t.Errorf("AccountByEmail(%q) = %+v, %v", email, got, err)
		}
	}
	got, ms, err := s.AccountByID("acc-1")
	if err != nil || got.Email != a.Email {
		t.Fatalf("AccountByID = %+v, %v", got, err)
	}
	if names := workspaceNames(ms); !slices.Equal(names, []string{"Acme", "Research"}) {
		t.Errorf("memberships %v", names)
	}
	for _, m := range ms {
		if m.Role != "member" {
			t.Errorf("role in %s = %q", m.Workspace.Name, m.Role)
		}
	}
	if n, err := s.CountAccounts(); n != 1 || err != nil {
		t.Errorf("CountAccounts = %d, %v", n, err)
	}
	if evs := eventsOfType(t, s, "account.created"); len(evs) != 1 || evs[0].Subject != a.Email {
		t.Errorf("account.created events = %+v", evs)
	}
}

func workspaceNames(ms []Membership) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Workspace.Name)
	}
	slices.Sort(out)
	return out
}

func TestCreateAccountDuplicateEmail(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, "acc-1", "alice@example.com")
	for _, email := range []string{"alice@example.com", "ALICE@example.COM", " alice@example.com\t"} {
		_, err := s.CreateAccount(NewAccount{Account: Account{ID: "acc-2", Email: email, CreatedAt: t0}})
		wantErr(t, "CreateAccount("+email+")", err, ErrExists)
	}
	if n, _ := s.CountAccounts(); n != 1 {
		t.Errorf("%d accounts, want 1", n)
	}
	if _, _, err := s.AccountByID("acc-2"); err != ErrNotFound {
		t.Errorf("refused account stored: %v", err)
	}
}

func TestCreateAccountReusesWorkspaceByName(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, "acc-1", "one@example.com", "Acme")
	mustAccount(t, s, "acc-2", "two@example.com", "acme", "Other")
	_, ms1, _ := s.AccountByID("acc-1")
	_, ms2, _ := s.AccountByID("acc-2")
	if len(ms1) != 1 || len(ms2) != 2 {
		t.Fatalf("memberships: %+v and %+v", ms1, ms2)
	}
	acme := ms1[0].Workspace
	i := slices.IndexFunc(ms2, func(m Membership) bool { return m.Workspace.ID == acme.ID })
	if i < 0 || ms2[i].Workspace.Name != "Acme" {
		t.Errorf("second account's Acme is %+v, want the existing workspace %+v", ms2, acme)
	}
	if n := keyCount(t, s, bucketWorkspaces); n != 2 {
		t.Errorf("%d workspaces, want 2 (Acme reused, Other new)", n)
	}
	all, err := s.ListAccounts()
	if err != nil || len(all) != 2 {
		t.Errorf("ListAccounts = %d rows, %v", len(all), err)
	}
}

func TestUpdateAccount(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, "acc-1", "alice@example.com")
	yes, no := true, false
	steps := []struct {
		name         string
		u            AccountUpdate
		wantDisabled bool
		wantPassword string
		wantDetail   string
	}{
		{"disable", AccountUpdate{Email: "ALICE@example.com", Disable: &yes}, true, "$argon2id$placeholder", "disabled"},
		{"enable", AccountUpdate{Email: "alice@example.com", Disable: &no}, false, "$argon2id$placeholder", "enabled"},
		{"password", AccountUpdate{Email: "alice@example.com", PasswordHash: "$argon2id$new"}, false, "$argon2id$new", "password changed"},
	}
	for i, st := range steps {
		st.u.Now, st.u.Actor = t0.Add(time.Duration(i+1)*time.Minute), "admin@example.com"
		got, err := s.UpdateAccount(st.u)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		stored, _ := s.AccountByEmail("alice@example.com")
		for _, a := range []Account{got, stored} {
			if a.Disabled != st.wantDisabled || a.PasswordHash != st.wantPassword {
				t.Errorf("%s: disabled %v password %q", st.name, a.Disabled, a.PasswordHash)
			}
		}
		evs := eventsOfType(t, s, "account.updated")
		if len(evs) != i+1 || evs[0].Detail != st.wantDetail || evs[0].Actor != "admin@example.com" {
			t.Errorf("%s: latest account.updated = %+v", st.name, evs)
		}
	}
	_, err := s.UpdateAccount(AccountUpdate{Email: "nobody@example.com", Disable: &yes})
	wantErr(t, "UpdateAccount(unknown)", err, ErrNotFound)
}

func TestSessionAccount(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, "acc-1", "alice@example.com", "Acme")
	mustAccount(t, s, "acc-2", "bob@example.com")
	cookie := tokens.HashOf("cookie-1")
	exp := t0.Add(12 * time.Hour)
	if err := s.putSession(cookie, Session{AccountID: "acc-1", CreatedAt: t0, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if err := s.putSession(tokens.HashOf("cookie-orphan"), Session{AccountID: "acc-gone", CreatedAt: t0, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}

	a, ms, err := s.SessionAccount(cookie, exp.Add(-time.Nanosecond))
	if err != nil || a.ID != "acc-1" || len(ms) != 1 || ms[0].Workspace.Name != "Acme" {
		t.Fatalf("live session = %+v %+v, %v", a, ms, err)
	}
	_, _, err = s.SessionAccount(cookie, exp)
	wantErr(t, "session at its expiry", err, ErrNotFound)
	_, _, err = s.SessionAccount(tokens.HashOf("cookie-unknown"), t0)
	wantErr(t, "unknown session", err, ErrNotFound)
	_, _, err = s.SessionAccount(tokens.HashOf("cookie-orphan"), t0)
	wantErr(t, "session of a missing account", err, ErrNotFound)

	yes := true
	if _, err := s.UpdateAccount(AccountUpdate{Email: "alice@example.com", Disable: &yes, Now: t0}); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.SessionAccount(cookie, t0.Add(time.Minute))
	wantErr(t, "session of a disabled account", err, ErrNotFound)

	if err := s.DeleteSession(cookie); err != nil {
		t.Fatal(err)
	}
	if raw := rawGet(t, s, bucketSessions, cookie[:]); raw != nil {
		t.Error("session row survived DeleteSession")
	}
}

// Disabling an account ends its tokens and approved codes at once, and
// leaves an SSO subject with the same email alone.
func TestDisableAccountRevokesItsTokens(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, alice.AccountID, alice.Email)
	mine := mustIssue(t, s, alice, "cli", "laptop", "tok-alice", t0)
	sso := mustIssue(t, s, aliceSSO, "cli", "laptop", "tok-alice-sso", t0)
	code := mustCreateCode(t, s, "BCDFGHJK", "cli", "desktop", t0)
	mustResolve(t, s, "BCDFGHJK", true, alice, t0.Add(time.Second))

	yes := true
	if _, err := s.UpdateAccount(AccountUpdate{Email: alice.Email, Disable: &yes, Now: t0.Add(time.Minute), Actor: "admin"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.TokenByHash(mine.Token.Hash)
	wantErr(t, "the disabled account's token", err, ErrNotFound)
	if got, err := s.TokenByID("tok-alice"); err != nil || got.RevokedReason != "account disabled" {
		t.Errorf("revoked row: %+v, %v", got, err)
	}
	if _, err := s.TokenByHash(sso.Token.Hash); err != nil {
		t.Errorf("the SSO subject with the same email lost its token: %v", err)
	}
	if got, _ := s.DeviceCodeByHash(code.Hash); got.Status != StatusDenied {
		t.Errorf("the disabled account's approved code is %q, want denied", got.Status)
	}
}

func TestClients(t *testing.T) {
	s := mustOpen(t)
	c := Client{ID: "cli", Name: "The CLI", CreatedAt: t0}
	if err := s.PutClient(c); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "PutClient twice", s.PutClient(c), ErrExists)
	got, err := s.Client("cli")
	if err != nil || got.Name != "The CLI" {
		t.Errorf("Client = %+v, %v", got, err)
	}
	if all, err := s.ListClients(); err != nil || len(all) != 1 {
		t.Errorf("ListClients = %+v, %v", all, err)
	}
	if _, err := s.RemoveClient("cli", "operator", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Client("cli")
	wantErr(t, "Client after removal", err, ErrNotFound)
	_, err = s.RemoveClient("cli", "operator", t0)
	wantErr(t, "RemoveClient(unknown)", err, ErrNotFound)
	for _, typ := range []string{"client.added", "client.removed"} {
		if evs := eventsOfType(t, s, typ); len(evs) != 1 || evs[0].Client != "cli" {
			t.Errorf("%s events = %+v", typ, evs)
		}
	}
}

func TestEvents(t *testing.T) {
	s := mustOpen(t)
	for i := range 5 {
		if err := s.RecordEvent(Event{At: t0.Add(time.Duration(i) * time.Minute), Type: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		since   time.Time
		limit   int
		wantSeq []uint64
	}{
		{"all, newest first", time.Time{}, 0, []uint64{5, 4, 3, 2, 1}},
		{"limit", time.Time{}, 2, []uint64{5, 4}},
		{"since is inclusive", t0.Add(3 * time.Minute), 0, []uint64{5, 4}},
		{"since and limit", t0.Add(time.Minute), 3, []uint64{5, 4, 3}},
		{"nothing after", t0.Add(time.Hour), 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := s.Events(tc.since, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []uint64
			for _, ev := range evs {
				seqs = append(seqs, ev.Seq)
			}
			if !slices.Equal(seqs, tc.wantSeq) {
				t.Errorf("seqs %v, want %v", seqs, tc.wantSeq)
			}
		})
	}
}

// Removing a client revokes its tokens and denies its approved codes in
// the same transaction; other clients' tokens are untouched.
func TestRemoveClientRevokesItsTokens(t *testing.T) {
	s := mustOpen(t)
	for _, id := range []string{"cli", "other-cli"} {
		if err := s.PutClient(Client{ID: id, Name: id, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	gone := mustIssue(t, s, bob, "cli", "laptop", "tok-cli", t0)
	kept := mustIssue(t, s, bob, "other-cli", "laptop", "tok-other", t0)
	approved := mustCreateCode(t, s, "BCDFGHJK", "cli", "desktop", t0)
	mustResolve(t, s, "BCDFGHJK", true, bob, t0.Add(time.Second))
	pending := mustCreateCode(t, s, "MNPQRSTV", "cli", "phone", t0)
	otherPending := mustCreateCode(t, s, "WXZBCDFG", "other-cli", "phone", t0)
	res, err := s.RemoveClient("cli", "operator", t0.Add(time.Minute))
	if err != nil || !slices.Equal(res.Revoked, []string{"tok-cli"}) || res.DeniedCodes != 2 {
		t.Fatalf("RemoveClient = %+v, %v; want tok-cli revoked and 2 denied codes", res, err)
	}
	if got, _ := s.DeviceCodeByHash(pending.Hash); got.Status != StatusDenied {
		t.Errorf("the removed client's pending code is %q, want denied", got.Status)
	}
	if got, _ := s.DeviceCodeByHash(otherPending.Hash); got.Status != StatusPending {
		t.Errorf("another client's pending code is %q, want pending", got.Status)
	}
	if _, err := s.TokenByHash(gone.Token.Hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("the removed client's token still resolves: %v", err)
	}
	if _, err := s.TokenByHash(kept.Token.Hash); err != nil {
		t.Errorf("another client's token: %v", err)
	}
	if got, _ := s.DeviceCodeByHash(approved.Hash); got.Status != StatusDenied {
		t.Errorf("the removed client's approved code is %q, want denied", got.Status)
	}
}

// A new password signs the account out everywhere: its sessions are gone
// in the same transaction; other accounts' sessions stay.
func TestNewPasswordEndsTheAccountsSessions(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, "acc-1", "ada@example.com")
	mustAccount(t, s, "acc-2", "bob@example.com")
	exp := t0.Add(time.Hour)
	for _, c := range []struct{ cookie, account string }{{"ada-1", "acc-1"}, {"ada-2", "acc-1"}, {"bob-1", "acc-2"}} {
		if err := s.putSession(tokens.HashOf(c.cookie), Session{AccountID: c.account, CreatedAt: t0, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdateAccount(AccountUpdate{Email: "ada@example.com", PasswordHash: "new-hash", Now: t0, Actor: "operator"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"ada-1", "ada-2"} {
		if _, _, err := s.SessionAccount(tokens.HashOf(c), t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("session %s after a password change: %v, want ErrNotFound", c, err)
		}
	}
	if _, _, err := s.SessionAccount(tokens.HashOf("bob-1"), t0); err != nil {
		t.Errorf("another account's session: %v", err)
	}
}

// SignIn writes the session only while the account still has the password
// hash the caller checked and is enabled: a sign-in that checked the old
// password while `passwd` or `disable` committed leaves no session.
func TestSignInRefusesAStaleCheck(t *testing.T) {
	s := mustOpen(t)
	a := mustAccount(t, s, "acc-1", "ada@example.com")
	sess := Session{AccountID: a.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.SignIn(tokens.HashOf("c1"), sess, a.PasswordHash); err != nil {
		t.Fatalf("SignIn with the current hash: %v", err)
	}
	if _, err := s.UpdateAccount(AccountUpdate{Email: a.Email, PasswordHash: "$argon2id$new", Now: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.SignIn(tokens.HashOf("c2"), sess, a.PasswordHash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SignIn checked against the old hash: %v, want ErrNotFound", err)
	}
	if _, _, err := s.SessionAccount(tokens.HashOf("c2"), t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("a session was left behind: %v", err)
	}
	disabled := true
	if _, err := s.UpdateAccount(AccountUpdate{Email: a.Email, Disable: &disabled, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.SignIn(tokens.HashOf("c3"), sess, "$argon2id$new"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SignIn to a disabled account: %v, want ErrNotFound", err)
	}
}
