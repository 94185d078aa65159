package store

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestRecordUsesKeepsTheLatest: batched observations only move times
// forward, name the resource server that last introspected, and skip
// revoked or missing rows.
func TestRecordUsesKeepsTheLatest(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, tok := range []Token{{ID: "live", ExpiresAt: at.Add(time.Hour)}, {ID: "dead", RevokedAt: at}} {
			if err := putToken(tx, tok); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	steps := []map[string]TokenUse{
		{"live": {At: at, Resource: "wiki", SeenAt: at}, "dead": {At: at}, "gone": {At: at}},
		{"live": {At: at.Add(time.Minute)}},                                             // a bearer use: wiki stays
		{"live": {At: at.Add(-time.Hour), Resource: "old", SeenAt: at.Add(-time.Hour)}}, // older: ignored
	}
	for _, uses := range steps {
		if err := s.RecordUses(uses); err != nil {
			t.Fatal(err)
		}
	}
	live, _ := s.TokenByID("live")
	if !live.LastUsedAt.Equal(at.Add(time.Minute)) || live.LastSeenBy != "wiki" || !live.LastSeenByAt.Equal(at) {
		t.Fatalf("live row: %+v", live)
	}
	if dead, _ := s.TokenByID("dead"); !dead.LastUsedAt.IsZero() {
		t.Fatalf("revoked row was touched: %+v", dead)
	}
	if _, err := s.TokenByID("gone"); err != ErrNotFound {
		t.Fatalf("a use created a row: %v", err)
	}
}
