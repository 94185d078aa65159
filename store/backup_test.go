package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/tokens"
)

func TestBackupWhileWriting(t *testing.T) {
	s := mustOpen(t)
	const before = 20
	for i := range before {
		mustIssue(t, s, bob, "cli", fmt.Sprintf("device-%d", i), fmt.Sprintf("tok-%03d", i), t0)
	}

	// A writer keeps minting while the backup runs.
	stop, wrote := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := before; ; i++ {
			rows := make([]Token, 50)
			for j := range rows {
				rows[j] = seedRow(i*len(rows)+j, t0)
			}
			if writeErr = seedTokensErr(s, rows); writeErr != nil {
				return
			}
			if i == before {
				close(wrote)
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	<-wrote

	dest := filepath.Join(t.TempDir(), FileName)
	n, err := s.Backup(dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if writeErr != nil {
		t.Fatalf("concurrent writer: %v", writeErr)
	}

	fi, err := os.Stat(dest)
	if err != nil || fi.Size() != n || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file %v, %v; want %d bytes, mode 0600", fi, err, n)
	}
	if err := CheckFile(dest); err != nil {
		t.Fatalf("CheckFile(backup): %v", err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".gatehouse-backup-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	copyStore := mustOpenDir(t, filepath.Dir(dest))
	for i := range before {
		id := fmt.Sprintf("tok-%03d", i)
		if got, err := copyStore.TokenByHash(tokens.HashOf(secretFor(id))); err != nil || got.ID != id {
			t.Errorf("backup lacks %s: %+v, %v", id, got, err)
		}
	}
}

// seedTokensErr is seedTokens for goroutines that must not call Fatal.
func seedTokensErr(s *Store, rows []Token) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, t := range rows {
			if err := putToken(tx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestBackupReplacesDest(t *testing.T) {
	s := mustOpen(t)
	mustIssue(t, s, bob, "cli", "laptop", "tok-1", t0)
	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(dest, []byte("old backup"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(dest); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if err := CheckFile(dest); err != nil {
		t.Errorf("CheckFile: %v", err)
	}
}

func TestBackupBadDest(t *testing.T) {
	s := mustOpen(t)
	_, err := s.Backup(filepath.Join(t.TempDir(), "missing-dir", "backup.db"))
	if err == nil {
		t.Error("Backup into a missing directory succeeded")
	}
}

func TestCheckFile(t *testing.T) {
	s := mustOpen(t)
	for i := range 200 {
		mustIssue(t, s, bob, "cli", fmt.Sprintf("device-%d", i), fmt.Sprintf("tok-%03d", i), t0)
	}
	good := filepath.Join(t.TempDir(), "good.db")
	if _, err := s.Backup(good); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 8*os.Getpagesize() {
		t.Fatalf("backup is only %d bytes; the truncation cases need a bigger file", len(raw))
	}
	v99 := filepath.Join(t.TempDir(), "v99.db")
	writeVersionedFile(t, v99, 99)

	tests := []struct {
		name    string
		content []byte // nil: use path as is
		path    string
		wantOK  bool
	}{
		{"good backup", nil, good, true},
		{"garbage", []byte("this is not a bbolt file, only some text that is long enough"), "", false},
		{"zeros", make([]byte, 64<<10), "", false},
		{"empty", []byte{}, "", false},
		{"truncated to half", raw[:len(raw)/2], "", false},
		{"truncated by one page", raw[:len(raw)-os.Getpagesize()], "", false},
		{"only the meta pages", raw[:2*os.Getpagesize()], "", false},
		{"unversioned (v0) file", nil, v0Fixture, false},
		{"schema too new", nil, v99, false},
		{"missing", nil, filepath.Join(t.TempDir(), "nope.db"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if tc.content != nil {
				path = filepath.Join(t.TempDir(), "candidate.db")
				if err := os.WriteFile(path, tc.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := CheckFile(path)
			if tc.wantOK && err != nil {
				t.Errorf("CheckFile: %v", err)
			}
			if !tc.wantOK && err == nil {
				t.Error("CheckFile passed")
			}
		})
	}
}

func TestStats(t *testing.T) {
	s := mustOpen(t)
	mustAccount(t, s, alice.AccountID, alice.Email)
	mustIssue(t, s, alice, "cli", "laptop", "tok-1", t0)
	mustCreateCode(t, s, "BCDFGHJK", "cli", "desktop", t0)
	if err := s.putSession(tokens.HashOf("c"), Session{AccountID: alice.AccountID, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// Events: account.created, device.approved, token.minted.
	if st.Tokens != 1 || st.DeviceCodes != 1 || st.Accounts != 1 || st.Sessions != 1 || st.Events != 3 || st.FileBytes <= 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// A backup onto the live file (or anywhere in the data directory) is
// refused before anything is written: renaming over the open file would
// lose every later write.
func TestBackupRefusesTheDataDirectory(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenDir(t, dir)
	mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0)
	live := filepath.Join(dir, FileName)
	before, err := os.Stat(live)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "via-link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	for _, dest := range []string{live, filepath.Join(dir, "secret.key"), filepath.Join(dir, "copy.db"), filepath.Join(link, FileName)} {
		if _, err := s.Backup(dest); !errors.Is(err, ErrInvalid) {
			t.Errorf("Backup(%s) = %v, want ErrInvalid", dest, err)
		}
	}
	after, err := os.Stat(live)
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("the live file was replaced: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != FileName {
			t.Errorf("a refused backup left %s in the data directory", e.Name())
		}
	}
}
