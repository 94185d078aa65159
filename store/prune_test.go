package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/tokens"
)

const (
	day            = 24 * time.Hour
	retention      = 30 * day
	auditRetention = 90 * day
	codeGrace      = time.Hour
)

// pruneNow is late enough that everything made at t0 is past retention.
var pruneNow = t0.Add(200 * day)

func prunePolicy(dry bool) PrunePolicy {
	return PrunePolicy{Now: pruneNow, Retention: retention, AuditRetention: auditRetention,
		DeviceCodeGrace: codeGrace, DryRun: dry}
}

// tokenFates are the token rows a prune must delete (dead) or keep, each
// named after the boundary it probes.
var (
	deadFates = []func(Token) Token{
		func(t Token) Token { // revoked before the cutoff
			t.Hash, t.RevokedAt, t.RevokedReason = tokens.Hash{}, pruneNow.Add(-retention-time.Second), "test"
			return t
		},
		func(t Token) Token { // expired before the cutoff, never presented again
			t.ExpiresAt = pruneNow.Add(-retention - time.Hour)
			return t
		},
		func(t Token) Token { // revoked long ago though its expiry is in the future
			t.Hash, t.RevokedAt, t.ExpiresAt = tokens.Hash{}, t0, pruneNow.Add(day)
			return t
		},
	}
	keptFates = []func(Token) Token{
		func(t Token) Token { t.ExpiresAt = pruneNow.Add(day); return t }, // live
		func(t Token) Token { // revoked within retention
			t.Hash, t.RevokedAt = tokens.Hash{}, pruneNow.Add(-retention+time.Hour)
			return t
		},
		func(t Token) Token { t.ExpiresAt = pruneNow.Add(-retention + time.Hour); return t },            // expired within retention
		func(t Token) Token { t.Hash, t.RevokedAt = tokens.Hash{}, pruneNow.Add(-retention); return t }, // revoked exactly at the cutoff
		func(t Token) Token { t.ExpiresAt = pruneNow.Add(-retention); return t },                        // expired exactly at the cutoff
	}
)

// pruneFixture writes n token rows in id order where runs of dead rows
// alternate with runs of kept ones, the runs long and short, so dead keys
// are consecutive, straddle batch boundaries and sit next to live keys. It
// returns the ids that must survive and how many must go.
func pruneFixture(tb testing.TB, s *Store, n int) (kept []string, dead int) {
	tb.Helper()
	deadRuns := []int{1, 2, 3, 700, 5, 1, 400, 1, 300, 64}
	keptRuns := []int{1, 4, 1, 2, 50, 1, 3}
	rows := make([]Token, 0, n)
	for run := 0; len(rows) < n; run++ {
		isDead := run%2 == 0
		length := keptRuns[(run/2)%len(keptRuns)]
		if isDead {
			length = deadRuns[(run/2)%len(deadRuns)]
		}
		for j := 0; j < length && len(rows) < n; j++ {
			i := len(rows)
			row := seedRow(i, t0)
			if isDead {
				row = deadFates[i%len(deadFates)](row)
				dead++
			} else {
				row = keptFates[i%len(keptFates)](row)
				kept = append(kept, row.ID)
			}
			rows = append(rows, row)
		}
	}
	seedTokens(tb, s, rows)
	return kept, dead
}

func tokenIDs(tb testing.TB, s *Store) []string {
	tb.Helper()
	var ids []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTokens).ForEach(func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

func TestPruneTokensInBatches(t *testing.T) {
	s := mustOpen(t)
	kept, dead := pruneFixture(t, s, 2500)
	if dead <= 2*PruneBatch {
		t.Fatalf("fixture has %d dead rows; want more than %d so several batches run", dead, 2*PruneBatch)
	}

	c, err := s.Prune(prunePolicy(false))
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if c.Tokens != dead {
		t.Errorf("Prune deleted %d tokens, want %d", c.Tokens, dead)
	}
	if got := tokenIDs(t, s); !slices.Equal(got, kept) {
		t.Errorf("%d rows remain, want %d; first difference: %s", len(got), len(kept), firstDiff(got, kept))
	}
	checkTokenIndexes(t, s)

	again, err := s.Prune(prunePolicy(false))
	if err != nil || again != (PruneCounts{}) {
		t.Errorf("second Prune = %+v, %v; want nothing deleted", again, err)
	}
	if got := tokenIDs(t, s); len(got) != len(kept) {
		t.Errorf("second Prune left %d rows, want %d", len(got), len(kept))
	}
}

// checkTokenIndexes asserts the indexes agree with the rows: each live hash
// and each unrevoked row's active key is indexed, and no entry dangles.
func checkTokenIndexes(tb testing.TB, s *Store) {
	tb.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		rows := tx.Bucket(bucketTokens)
		hashes, active := tx.Bucket(bucketTokenHashes), tx.Bucket(bucketTokenActive)
		wantHashes, wantActive := 0, 0
		err := rows.ForEach(func(k, v []byte) error {
			t, err := decodeToken(v)
			if err != nil {
				return err
			}
			if !t.Hash.IsZero() {
				wantHashes++
				if got := hashes.Get(t.Hash[:]); string(got) != t.ID {
					tb.Errorf("hash index for %s -> %q", t.ID, got)
				}
			}
			if t.RevokedAt.IsZero() {
				wantActive++
				if got := active.Get(activeKey(t.SubjectEmail, t.SubjectIssuer, t.ClientID, t.DeviceLabel)); string(got) != t.ID {
					tb.Errorf("active index for %s -> %q", t.ID, got)
				}
			}
			return nil
		})
		if n := hashes.Stats().KeyN; n != wantHashes {
			tb.Errorf("%d hash index entries, want %d", n, wantHashes)
		}
		if n := active.Stats().KeyN; n != wantActive {
			tb.Errorf("%d active index entries, want %d", n, wantActive)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d got %s want %s", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

func TestPruneDryRun(t *testing.T) {
	s := mustOpen(t)
	kept, dead := pruneFixture(t, s, 2500)
	before := bucketSizes(t, s)

	c, err := s.Prune(prunePolicy(true))
	if err != nil {
		t.Fatalf("Prune(dry run): %v", err)
	}
	if c.Tokens != dead {
		t.Errorf("dry run counted %d tokens, want %d", c.Tokens, dead)
	}
	if after := bucketSizes(t, s); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("dry run changed the file: %v -> %v", before, after)
	}

	done, err := s.Prune(prunePolicy(false))
	if err != nil || done != c {
		t.Errorf("Prune after dry run = %+v, %v; want the dry run's %+v", done, err, c)
	}
	if n := len(tokenIDs(t, s)); n != len(kept) {
		t.Errorf("%d rows remain, want %d", n, len(kept))
	}
}

func bucketSizes(tb testing.TB, s *Store) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for _, b := range allBuckets {
		out[string(b)] = keyCount(tb, s, b)
	}
	return out
}

func TestPruneOtherBuckets(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, "acc-1", "one@example.com")
	// Device codes: dead once expired for longer than the grace.
	gone := mustCreateCode(t, s, "BCDFGHJK", "cli", "a", pruneNow.Add(-codeGrace-codeTTL-time.Second))
	inGrace := mustCreateCode(t, s, "CDFGHJKL", "cli", "b", pruneNow.Add(-codeTTL-time.Minute))
	live := mustCreateCode(t, s, "DFGHJKLM", "cli", "c", pruneNow.Add(-time.Minute))
	// Sessions: dead at their expiry.
	sessions := map[string]time.Time{"s-expired": pruneNow.Add(-time.Hour), "s-at-expiry": pruneNow, "s-live": pruneNow.Add(time.Hour)}
	for name, exp := range sessions {
		if err := s.putSession(tokens.HashOf(name), Session{AccountID: "acc-1", CreatedAt: t0, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	// Nonces: dead once their expiry second has passed.
	nonces := map[string]time.Time{"n-old": pruneNow.Add(-time.Hour), "n-just-gone": pruneNow.Add(-time.Second), "n-now": pruneNow, "n-live": pruneNow.Add(time.Hour)}
	for n, exp := range nonces {
		if err := s.ClaimNonce(n, exp); err != nil {
			t.Fatal(err)
		}
	}
	// Audit: dead before now-AuditRetention (the account.created event at
	// t0 is one of them).
	for _, at := range []time.Time{pruneNow.Add(-auditRetention - time.Second), pruneNow.Add(-auditRetention), pruneNow} {
		if err := s.RecordEvent(Event{At: at, Type: "test.event"}); err != nil {
			t.Fatal(err)
		}
	}

	c, err := s.Prune(prunePolicy(false))
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	want := PruneCounts{DeviceCodes: 1, Sessions: 2, Nonces: 2, Events: 2}
	if c != want {
		t.Errorf("Prune = %+v, want %+v", c, want)
	}

	_, err = s.DeviceCodeByHash(gone.Hash)
	wantErr(t, "pruned code", err, ErrNotFound)
	if raw := rawGet(t, s, bucketUserCodes, []byte(gone.UserCode)); raw != nil {
		t.Errorf("pruned code's user_code index survived")
	}
	for _, dc := range []DeviceCode{inGrace, live} {
		if got, err := s.DeviceCodeByUserCode(dc.UserCode); err != nil || got.Hash != dc.Hash {
			t.Errorf("code %s: %+v, %v", dc.DeviceLabel, got, err)
		}
	}
	if _, _, err := s.SessionAccount(tokens.HashOf("s-live"), pruneNow); err != nil {
		t.Errorf("live session pruned: %v", err)
	}
	if n := keyCount(t, s, bucketSessions); n != 1 {
		t.Errorf("%d sessions remain, want 1", n)
	}
	for _, n := range []string{"n-now", "n-live"} {
		wantErr(t, "kept nonce "+n, s.ClaimNonce(n, pruneNow.Add(time.Hour)), ErrExists)
	}
	if n := keyCount(t, s, bucketNonces); n != 2 {
		t.Errorf("%d nonces remain, want 2", n)
	}
	evs, err := s.Events(time.Time{}, 0)
	if err != nil || len(evs) != 2 || !evs[1].At.Equal(pruneNow.Add(-auditRetention)) || !evs[0].At.Equal(pruneNow) {
		t.Errorf("events after prune = %+v, %v", evs, err)
	}

	if again, err := s.Prune(prunePolicy(false)); err != nil || again != (PruneCounts{}) {
		t.Errorf("second Prune = %+v, %v; want nothing", again, err)
	}
}

func TestClaimNonce(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenDir(t, dir)
	exp := t0.Add(time.Hour)
	if err := s.ClaimNonce("n-1", exp); err != nil {
		t.Fatalf("first claim: %v", err)
	}
	wantErr(t, "second claim", s.ClaimNonce("n-1", exp), ErrExists)
	if err := s.ClaimNonce("n-2", exp); err != nil {
		t.Errorf("other nonce: %v", err)
	}

	s = mustReopen(t, s, dir)
	wantErr(t, "claim after restart", s.ClaimNonce("n-1", exp), ErrExists)
	// An expired nonce stays claimed until a prune removes it.
	wantErr(t, "claim after its expiry, before prune", s.ClaimNonce("n-1", exp.Add(day)), ErrExists)
}

// A negative window would put the cutoff in the future: refused, and
// nothing is deleted.
func TestPruneRefusesNegativeWindows(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, alice.AccountID, alice.Email)
	mustIssue(t, s, alice, "cli", "laptop", "tok-live", t0)
	before := bucketSizes(t, s)
	for _, p := range []PrunePolicy{
		{Now: t0, Retention: -400 * time.Hour},
		{Now: t0, AuditRetention: -time.Hour},
		{Now: t0, DeviceCodeGrace: -time.Second},
		{},
	} {
		if _, err := s.Prune(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("Prune(%+v) = %v, want ErrInvalid", p, err)
		}
	}
	if after := bucketSizes(t, s); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a refused prune changed the file: %v -> %v", before, after)
	}
}
