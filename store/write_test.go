package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// syncFailsAfterMeta mimics bbolt when fdatasync of the meta page fails:
// the transaction's pages and meta page are written (visible to the next
// transaction) but Update still returns the I/O error.
func syncFailsAfterMeta(s *Store) func(func(*bolt.Tx) error) error {
	return func(fn func(*bolt.Tx) error) error {
		if err := s.db.Update(fn); err != nil {
			return err
		}
		return fmt.Errorf("fdatasync: %w", syscall.EIO)
	}
}

// failsBeforeMeta mimics a write the disk refuses before the meta page:
// bbolt rolls back and nothing is visible.
func failsBeforeMeta(s *Store) func(func(*bolt.Tx) error) error {
	return func(fn func(*bolt.Tx) error) error {
		s.db.Update(func(tx *bolt.Tx) error {
			fn(tx)
			return syscall.ENOSPC // roll back whatever fn wrote
		})
		return fmt.Errorf("write: %w", syscall.ENOSPC)
	}
}

func TestCommitUncertainStopsWrites(t *testing.T) {
	s := mustOpen(t)
	mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0)
	s.updateHook = syncFailsAfterMeta(s)

	err := s.CreateDeviceCode(pendingCode("CDFGHJKL", "cli", "desktop", t0))
	wantErr(t, "create with a failed meta sync", err, ErrCommitUncertain)
	if !IsDiskFault(err) {
		t.Errorf("IsDiskFault(%v) = false; the request must get 503, not 500", err)
	}
	select {
	case <-s.Failed():
	default:
		t.Fatal("Failed() not closed after an uncertain commit")
	}
	if s.Err() == nil {
		t.Error("Err() = nil after an uncertain commit")
	}

	// Every later write is refused without touching the file, through the
	// group-commit path and the direct one alike.
	s.updateHook = nil
	wantErr(t, "create after the failure", s.CreateDeviceCode(pendingCode("DFGHJKLM", "cli", "tablet", t0)), ErrFailed)
	wantErr(t, "probe after the failure", s.Probe(t0), ErrFailed)
	// Reads go on.
	if _, err := s.DeviceCodeByUserCode("BCDFGHJK"); err != nil {
		t.Errorf("read after the failure: %v", err)
	}
}

func TestCommitRefusedBeforeMetaKeepsServing(t *testing.T) {
	s := mustOpen(t)
	s.updateHook = failsBeforeMeta(s)
	err := s.CreateDeviceCode(pendingCode("CDFGHJKL", "cli", "desktop", t0))
	if !IsDiskFault(err) {
		t.Fatalf("create on a full disk: %v, want a disk fault", err)
	}
	if s.Err() != nil {
		t.Fatalf("a rolled-back write stopped the store: %v", s.Err())
	}
	if _, err := s.DeviceCodeByUserCode("CDFGHJKL"); err == nil {
		t.Error("the refused write is visible")
	}
	s.updateHook = nil // space returns
	mustCreateCode(t, s, "CDFGHJKL", "cli", "desktop", t0)
}

// TestOpenCurrentFileWritesNothing: opening a current file, read-write or
// read-only, leaves it byte for byte as it was (check and listing commands
// must not rewrite what they inspect).
func TestOpenCurrentFileWritesNothing(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenDir(t, dir)
	mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0)
	mustClose(t, s)
	path := filepath.Join(dir, FileName)
	before := mustRead(t, path)
	for _, ro := range []bool{false, true} {
		s, err := Open(dir, Options{ReadOnly: ro, LockTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatalf("Open(readOnly=%v): %v", ro, err)
		}
		if _, err := s.ListTokens(TokenFilter{}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if !bytes.Equal(before, mustRead(t, path)) {
			t.Errorf("Open(readOnly=%v) of a current file changed it", ro)
		}
	}
}

// TestOpenRefusesForeignFile: a bbolt file with buckets Gatehouse never
// writes and no schema version is someone else's; it is refused unchanged.
func TestOpenRefusesForeignFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("other-app"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	before := mustRead(t, path)
	for _, ro := range []bool{false, true} {
		s, err := Open(dir, Options{ReadOnly: ro, LockTimeout: 200 * time.Millisecond})
		if err == nil {
			s.Close()
		}
		wantErr(t, fmt.Sprintf("Open(foreign, readOnly=%v)", ro), err, ErrForeign)
		if !bytes.Equal(before, mustRead(t, path)) {
			t.Errorf("Open(foreign, readOnly=%v) changed the file", ro)
		}
	}
	if err := CheckFile(path); err == nil {
		t.Error("CheckFile passed a foreign file")
	}
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// A refused write is reported until a real write succeeds; the readiness
// probe's own success does not clear it.
func TestWriteFaultIsReportedUntilAWriteSucceeds(t *testing.T) {
	s := mustOpen(t)
	if _, err := s.WriteFault(); err != nil {
		t.Fatalf("fresh store reports a fault: %v", err)
	}
	s.updateHook = failsBeforeMeta(s)
	s.CreateDeviceCode(pendingCode("CDFGHJKL", "cli", "desktop", t0))
	s.updateHook = nil
	if at, err := s.WriteFault(); err == nil || at.IsZero() {
		t.Fatal("a refused write is not reported")
	}
	if err := s.Probe(t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteFault(); err == nil {
		t.Error("the probe's own success cleared the fault")
	}
	mustCreateCode(t, s, "CDFGHJKL", "cli", "desktop", t0)
	if _, err := s.WriteFault(); err != nil {
		t.Errorf("still reported after a write succeeded: %v", err)
	}
}

// Every committed audit event reaches OnEvent once, after its commit; a
// rolled-back transaction's events never do.
func TestOnEventSeesCommittedEventsOnly(t *testing.T) {
	var got []string
	s, err := Open(t.TempDir(), Options{LockTimeout: 200 * time.Millisecond, OnEvent: func(ev Event) { got = append(got, ev.Type) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mustClose(t, s) })
	mustAccount(t, s, alice.AccountID, alice.Email)
	mustIssue(t, s, alice, "cli", "laptop", "tok-1", t0)
	s.updateHook = failsBeforeMeta(s)
	s.RecordEvent(Event{At: t0, Type: "signin.failed"})
	s.updateHook = nil
	want := "[account.created device.approved token.minted]"
	if fmt.Sprint(got) != want {
		t.Fatalf("OnEvent saw %v, want %s", got, want)
	}
}
