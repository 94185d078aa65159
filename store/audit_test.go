package store

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Events about a person's device or token name the person (email) as
// Subject and their issuer as Issuer, for accounts and SSO subjects alike.
func TestAuditEventsNameTheSubjectAndItsIssuer(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, alice.AccountID, alice.Email)
	mustIssue(t, s, alice, "cli", "laptop", "tok-a", t0)
	mustIssue(t, s, alice, "cli", "laptop", "tok-a2", t0.Add(time.Minute)) // rotates
	mustIssue(t, s, bob, "cli", "laptop", "tok-b", t0)
	if _, err := s.Revoke(RevokeFilter{TokenID: "tok-b", Actor: "operator", Now: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"device.approved", "token.minted", "token.rotated", "token.revoked"} {
		evs := eventsOfType(t, s, typ)
		if len(evs) == 0 {
			t.Fatalf("no %s event", typ)
		}
		for _, ev := range evs {
			want := map[string]string{alice.Email: alice.Issuer, bob.Email: bob.Issuer}
			if iss, ok := want[ev.Subject]; !ok || ev.Issuer != iss {
				t.Errorf("%s: subject %q issuer %q, want a subject's email and its issuer", typ, ev.Subject, ev.Issuer)
			}
		}
	}
}

// Rows written before events had an Issuer kept the email in Actor and the
// issuer in Subject on approvals and mints; they read in today's shape.
func TestLegacyAuditRowsReadInTodaysShape(t *testing.T) {
	s := mustOpen(t)
	legacy := `{"seq":1,"at":"2026-01-02T03:04:05Z","type":"token.minted","actor":"ada@example.com","subject":"gatehouse:local","token_id":"tok-1"}`
	revoked := `{"seq":2,"at":"2026-01-02T03:04:06Z","type":"token.revoked","actor":"operator","subject":"ada@example.com","token_id":"tok-1"}`
	if err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		if err := b.Put(u64(1), []byte(legacy)); err != nil {
			return err
		}
		return b.Put(u64(2), []byte(revoked))
	}); err != nil {
		t.Fatal(err)
	}
	evs := eventsOfType(t, s, "token.minted")
	if len(evs) != 1 || evs[0].Subject != "ada@example.com" || evs[0].Issuer != "gatehouse:local" || evs[0].Actor != "ada@example.com" {
		t.Errorf("legacy mint = %+v, want subject ada@example.com, issuer gatehouse:local", evs)
	}
	if evs := eventsOfType(t, s, "token.revoked"); len(evs) != 1 || evs[0].Subject != "ada@example.com" || evs[0].Actor != "operator" {
		t.Errorf("revocation = %+v, unchanged", evs)
	}
}
