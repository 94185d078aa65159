package store

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/tokens"
)

var updateV1 = flag.Bool("update", false, "rewrite testdata/v1.db (then commit it)")

// v1Fixture is a file as schema version 1 left it: every version-1 bucket,
// no resource_servers bucket, and one client row to prove data survives.
const v1Fixture = "testdata/v1.db"

var v1Client = Client{ID: "legacy-cli", Name: "Legacy CLI", CreatedAt: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}

// TestWriteV1Fixture regenerates the committed v1 file. Run:
//
//	go test ./store -run TestWriteV1Fixture -update
func TestWriteV1Fixture(t *testing.T) {
	if !*updateV1 {
		t.Skip("testdata/v1.db is committed; pass -update to rewrite it")
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := v1Fixture + ".tmp"
	os.Remove(tmp)
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(writeV1)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, v1Fixture); err != nil {
		t.Fatal(err)
	}
}

// writeV1 lays out version 1 by hand: migrations[0] today also creates
// buckets added later (it walks allBuckets), so those are dropped again.
func writeV1(tx *bolt.Tx) error {
	if err := migrations[0](tx); err != nil {
		return err
	}
	if err := tx.DeleteBucket(bucketResourceServers); err != nil {
		return err
	}
	if err := tx.Bucket(bucketMeta).Put([]byte("schema_version"), u64(1)); err != nil {
		return err
	}
	return putJSON(tx.Bucket(bucketClients), []byte(v1Client.ID), v1Client)
}

// TestMigrateV1ToV2 opens the committed v1 file: Open adds the
// resource_servers bucket, records version 2, keeps the old rows, and the
// new bucket works.
func TestMigrateV1ToV2(t *testing.T) {
	dir := copyV1Fixture(t)
	assertV1(t, filepath.Join(dir, FileName))

	s, err := Open(dir, Options{LockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open(v1 file): %v", err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("check after migration: %v", err)
	}
	var v uint64
	var hasBucket bool
	s.db.View(func(tx *bolt.Tx) error {
		v, hasBucket = readVersion(tx), tx.Bucket(bucketResourceServers) != nil
		return nil
	})
	if v != SchemaVersion() || !hasBucket {
		t.Fatalf("after migration: version %d, resource_servers bucket %v; want %d, true", v, hasBucket, SchemaVersion())
	}
	if c, err := s.Client(v1Client.ID); err != nil || c.Name != v1Client.Name {
		t.Fatalf("version-1 client row after migration: %+v, %v", c, err)
	}
	rs := ResourceServer{Name: "billing", SecretHash: tokens.HashOf("s3cret"), CreatedAt: v1Client.CreatedAt}
	if err := s.PutResourceServer(rs); err != nil {
		t.Fatalf("PutResourceServer on migrated file: %v", err)
	}
	if got, err := s.ResourceServerByName("billing"); err != nil || got.SecretHash != rs.SecretHash {
		t.Fatalf("ResourceServerByName: %+v, %v", got, err)
	}
}

// copyV1Fixture copies the committed file into a fresh data directory, so
// the test never writes to testdata/.
func copyV1Fixture(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(v1Fixture)
	if err != nil {
		t.Fatalf("%v (regenerate with: go test ./store -run TestWriteV1Fixture -update)", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// assertV1 guards the fixture itself: version 1, without the v2 bucket.
func assertV1(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if readVersion(tx) != 1 || tx.Bucket(bucketResourceServers) != nil {
			t.Fatalf("%s is not a version-1 file", path)
		}
		return nil
	})
}

func TestResourceServerRegistry(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	rs := ResourceServer{Name: "wiki", SecretHash: tokens.HashOf("x"), CreatedAt: now}
	if err := s.PutResourceServer(rs); err != nil {
		t.Fatal(err)
	}
	if err := s.PutResourceServer(rs); err != ErrExists {
		t.Fatalf("second add: %v, want ErrExists", err)
	}
	if list, err := s.ListResourceServers(); err != nil || len(list) != 1 || list[0].Name != "wiki" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if err := s.RemoveResourceServer("wiki", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResourceServerByName("wiki"); err != ErrNotFound {
		t.Fatalf("after remove: %v, want ErrNotFound", err)
	}
	if err := s.RemoveResourceServer("wiki", now); err != ErrNotFound {
		t.Fatalf("remove twice: %v, want ErrNotFound", err)
	}
	if err := s.Probe(now); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}
