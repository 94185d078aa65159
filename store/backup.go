package store

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a hot, consistent copy of the file to dest: a read
// transaction's snapshot goes to a temporary file beside dest, which is
// fsynced, checked and only then renamed over dest. Serving goes on.
func (s *Store) Backup(dest string) (int64, error) {
	if err := s.checkBackupDest(dest); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".gatehouse-backup-*")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	var n int64
	err = s.db.View(func(tx *bolt.Tx) error {
		var werr error
		n, werr = tx.WriteTo(tmp)
		return werr
	})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = CheckFile(tmp.Name())
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dest)
	}
	if err != nil {
		return 0, fmt.Errorf("backup to %s: %w", dest, err)
	}
	return n, syncDir(filepath.Dir(dest))
}

// checkBackupDest refuses a destination inside the data directory: renaming
// a copy over the live file would leave the server writing to an unlinked
// inode (every later write lost at restart), and over the key file would
// destroy the key. Backups belong on another disk anyway.
func (s *Store) checkBackupDest(dest string) error {
	live, err := os.Stat(s.Path())
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if fi, err := os.Stat(dest); err == nil && os.SameFile(fi, live) {
		return fmt.Errorf("%w: backup destination %s is the live data file; write the backup outside the data directory", ErrInvalid, dest)
	}
	dataDir, err := os.Stat(filepath.Dir(s.Path()))
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if fi, err := os.Stat(filepath.Dir(dest)); err == nil && os.SameFile(fi, dataDir) {
		return fmt.Errorf("%w: backup destination %s is inside the data directory %s; write the backup somewhere else",
			ErrInvalid, dest, filepath.Dir(s.Path()))
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Check runs bbolt's consistency check over the open file.
func (s *Store) Check() error {
	return s.db.View(func(tx *bolt.Tx) error { return firstErr(tx.Check()) })
}

// CheckFile opens a bbolt file read-only and checks it and its schema.
func CheckFile(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if err := validateFile(path); err != nil {
		return err
	}
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return openError(path, err)
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		if err := checkFileSize(tx); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if v := readVersion(tx); v == 0 || v > SchemaVersion() {
			return fmt.Errorf("%s: schema version %d is not one this build reads (1..%d)", path, v, SchemaVersion())
		}
		return firstErr(tx.Check())
	})
}

// checkFileSize refuses a file shorter than its own metadata says it is (a
// truncated copy): bbolt would fault reading pages past the end of the file
// instead of returning an error.
func checkFileSize(tx *bolt.Tx) error {
	fi, err := os.Stat(tx.DB().Path())
	if err != nil {
		return err
	}
	if fi.Size() < tx.Size() {
		return fmt.Errorf("%w: file is %d bytes but its metadata needs %d; it is truncated", ErrInvalid, fi.Size(), tx.Size())
	}
	return nil
}

func firstErr(errs <-chan error) error {
	var first error
	for err := range errs {
		if first == nil {
			first = err
		}
	}
	return first
}

// Stats are counts for operators.
type Stats struct {
	FileBytes   int64 `json:"file_bytes"`
	Tokens      int   `json:"tokens"`
	DeviceCodes int   `json:"device_codes"`
	Accounts    int   `json:"accounts"`
	Sessions    int   `json:"sessions"`
	Events      int   `json:"audit_events"`
}

// Stats reads bucket key counts and the file size.
func (s *Store) Stats() (Stats, error) {
	var st Stats
	err := s.db.View(func(tx *bolt.Tx) error {
		st.FileBytes = tx.Size()
		st.Tokens = tx.Bucket(bucketTokens).Stats().KeyN
		st.DeviceCodes = tx.Bucket(bucketDeviceCodes).Stats().KeyN
		st.Accounts = tx.Bucket(bucketAccounts).Stats().KeyN
		st.Sessions = tx.Bucket(bucketSessions).Stats().KeyN
		st.Events = tx.Bucket(bucketAudit).Stats().KeyN
		return nil
	})
	return st, err
}

// Compact rewrites the (closed) file in dir into a fresh, dense copy and
// swaps it in, reclaiming space after large prunes. It fails fast if a
// server holds the file. It returns the sizes before and after.
func Compact(dir string) (int64, int64, error) {
	src, err := Open(dir, Options{})
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	path := src.Path()
	tmp := path + ".compact"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return 0, 0, err
	}
	err = bolt.Compact(dst, src.db, 64<<20)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = CheckFile(tmp)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	before, after := fileSize(path), fileSize(tmp)
	// Swap while still holding the old file's lock, so no server can open
	// the old file in between; the lock goes with the old inode on Close.
	if err := os.Rename(tmp, path); err != nil {
		return 0, 0, err
	}
	return before, after, syncDir(dir)
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
