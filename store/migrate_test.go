package store

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var updateFixtures = flag.Bool("update-fixtures", false, "rewrite the bbolt files under testdata/ (then commit them)")

// v0Fixture is a version-0 file: bbolt's empty file, as a first start that
// died before its first commit leaves it (a file with buckets but no
// version is someone else's: TestOpenRefusesForeignFile).
const v0Fixture = "testdata/v0.db"

// TestWriteFixtures regenerates the committed fixtures. Run:
//
//	go test ./store -run TestWriteFixtures -update-fixtures
func TestWriteFixtures(t *testing.T) {
	if !*updateFixtures {
		t.Skip("fixtures are committed; pass -update-fixtures to rewrite them")
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := v0Fixture + ".tmp"
	os.Remove(tmp)
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, v0Fixture); err != nil {
		t.Fatal(err)
	}
}

func TestSchemaVersion(t *testing.T) {
	if v := SchemaVersion(); v != 3 {
		t.Errorf("SchemaVersion() = %d, want 3: a new migration needs its own test and fixture (v2: migrate_v2_test.go, v3: migrate_v3_test.go)", v)
	}
}

func fileVersion(tb testing.TB, s *Store) uint64 {
	tb.Helper()
	var v uint64
	if err := s.db.View(func(tx *bolt.Tx) error { v = readVersion(tx); return nil }); err != nil {
		tb.Fatal(err)
	}
	return v
}

func assertAllBuckets(tb testing.TB, s *Store) {
	tb.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				tb.Errorf("bucket %s missing", name)
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func TestOpenFreshFile(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenDir(t, dir)
	if v := fileVersion(t, s); v != SchemaVersion() {
		t.Errorf("fresh file at schema %d, want %d", v, SchemaVersion())
	}
	assertAllBuckets(t, s)
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("data file: %v, %v; want mode 0600", fi, err)
	}

	// Reopening a current file is a no-op.
	s = mustReopen(t, s, dir)
	if v := fileVersion(t, s); v != SchemaVersion() {
		t.Errorf("reopened file at schema %d", v)
	}
}

// TestMigrateV0ToV1 opens the committed unversioned fixture: Open creates
// every bucket and records the current version.
func TestMigrateV0ToV1(t *testing.T) {
	raw, err := os.ReadFile(v0Fixture)
	if err != nil {
		t.Fatalf("%v (regenerate with -update-fixtures and commit it)", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	assertUnversioned(t, path)

	s := mustOpenDir(t, dir)
	if v := fileVersion(t, s); v != SchemaVersion() {
		t.Fatalf("migrated file at schema %d, want %d", v, SchemaVersion())
	}
	assertAllBuckets(t, s)
	// The migrated file works.
	mustIssue(t, s, bob, "cli", "laptop", "tok-1", t0)
}

// assertUnversioned guards the fixture itself: it must be schema 0.
func assertUnversioned(tb testing.TB, path string) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) != nil || readVersion(tx) != 0 {
			tb.Fatalf("%s is not an unversioned (v0) file", path)
		}
		return nil
	})
}

// writeVersionedFile makes a bbolt file whose meta bucket claims version v.
func writeVersionedFile(tb testing.TB, path string, v uint64) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put([]byte("schema_version"), u64(v))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
}

func TestOpenSchemaTooNew(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		writeVersionedFile(t, path, 99)
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}

		s, err := Open(dir, Options{ReadOnly: readOnly, LockTimeout: 200 * time.Millisecond})
		if err == nil {
			s.Close()
		}
		wantErr(t, "Open(schema 99)", err, ErrSchemaTooNew)

		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Errorf("read-only %v: refusing a newer file changed its bytes", readOnly)
		}
		if err := CheckFile(path); err == nil {
			t.Errorf("CheckFile(schema 99) passed")
		}
		// The refused open released the lock.
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatalf("file still locked after a refused Open: %v", err)
		}
		db.Close()
	}
}
