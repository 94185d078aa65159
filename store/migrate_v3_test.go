package store

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/tokens"
)

var updateV2 = flag.Bool("update-v2", false, "rewrite testdata/v2.db (then commit it)")

// v2Fixture is a file as schema version 2 left it: token rows are JSON.
const v2Fixture = "testdata/v2.db"

var v2Token = Token{ID: "tok_legacy", Hash: tokens.HashOf("dfoa_legacy-secret"), Kind: "account", Prefix: "dfoa_leg",
	SubjectEmail: "ada@example.com", SubjectIssuer: LocalIssuer, AccountID: "acc-ada", WorkspaceID: "ws-1",
	ClientID: "gatehouse-cli", DeviceLabel: "laptop", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
	ExpiresAt: time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)}

// TestWriteV2Fixture regenerates the committed v2 file. Run:
//
//	go test ./store -run TestWriteV2Fixture -update-v2
func TestWriteV2Fixture(t *testing.T) {
	if !*updateV2 {
		t.Skip("testdata/v2.db is committed; pass -update-v2 to rewrite it")
	}
	tmp := v2Fixture + ".tmp"
	os.Remove(tmp)
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(writeV2)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, v2Fixture); err != nil {
		t.Fatal(err)
	}
}

// writeV2 lays out version 2 by hand, with the token row as JSON (as
// putJSON wrote it then) and its two indexes.
func writeV2(tx *bolt.Tx) error {
	for _, m := range migrations[:2] {
		if err := m(tx); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketMeta).Put([]byte("schema_version"), u64(2)); err != nil {
		return err
	}
	raw, err := json.Marshal(v2Token)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketTokens).Put([]byte(v2Token.ID), raw); err != nil {
		return err
	}
	if err := tx.Bucket(bucketTokenHashes).Put(v2Token.Hash[:], []byte(v2Token.ID)); err != nil {
		return err
	}
	t := v2Token
	return tx.Bucket(bucketTokenActive).Put(activeKey(t.SubjectEmail, t.SubjectIssuer, t.ClientID, t.DeviceLabel), []byte(t.ID))
}

// TestMigrateV2ToV3 opens the committed v2 file: Open records version 3
// without rewriting rows; the JSON token still authenticates; its next
// write stores it binary, and it reads back the same.
func TestMigrateV2ToV3(t *testing.T) {
	raw, err := os.ReadFile(v2Fixture)
	if err != nil {
		t.Fatalf("%v (regenerate with: go test ./store -run TestWriteV2Fixture -update-v2)", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s := mustOpenDir(t, dir)
	if v := fileVersion(t, s); v != 3 {
		t.Fatalf("after migration: version %d, want 3", v)
	}
	if row := rawGet(t, s, bucketTokens, []byte(v2Token.ID)); len(row) == 0 || row[0] != '{' {
		t.Fatalf("the migration rewrote the JSON row: %q", row)
	}
	got, err := s.TokenByHash(v2Token.Hash)
	if err != nil || got != v2Token {
		t.Fatalf("JSON row after migration: %+v, %v; want %+v", got, err, v2Token)
	}
	used := time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)
	if err := s.TouchTokens(map[string]time.Time{v2Token.ID: used}); err != nil {
		t.Fatal(err)
	}
	if row := rawGet(t, s, bucketTokens, []byte(v2Token.ID)); len(row) == 0 || row[0] != tokenRowV1 {
		t.Fatalf("row after a write is not binary: %q", row)
	}
	want := v2Token
	want.LastUsedAt = used
	if got, err := s.TokenByHash(v2Token.Hash); err != nil || got != want {
		t.Fatalf("binary row: %+v, %v; want %+v", got, err, want)
	}
}
