package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpenLocked(t *testing.T) {
	const lockTimeout = 150 * time.Millisecond
	tests := []struct {
		name     string
		pidFile  string // "" writes none
		readOnly bool
		wantText string
	}{
		{"pid file names the server", "4242\n", false, "pid 4242"},
		{"read-only open waits for the same lock", "4242", true, "pid 4242"},
		{"no pid file", "", false, "unknown pid"},
		{"garbage pid file", "not a pid", false, "unknown pid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustOpenDir(t, dir) // the "running server"
			if tc.pidFile != "" {
				if err := os.WriteFile(filepath.Join(dir, PIDFileName), []byte(tc.pidFile), 0o600); err != nil {
					t.Fatal(err)
				}
			}

			start := time.Now()
			s, err := Open(dir, Options{LockTimeout: lockTimeout, ReadOnly: tc.readOnly})
			took := time.Since(start)
			if err == nil {
				s.Close()
				t.Fatal("second Open of a held file succeeded")
			}
			wantErr(t, "second Open", err, ErrInUse)
			if !strings.Contains(err.Error(), tc.wantText) || !strings.Contains(err.Error(), filepath.Join(dir, FileName)) {
				t.Errorf("message %q should name %q and the file", err, tc.wantText)
			}
			// bbolt polls the lock every 50ms until the timeout.
			if took > lockTimeout+2*time.Second {
				t.Errorf("second Open took %v with a %v lock timeout", took, lockTimeout)
			}
		})
	}
}

func TestOpenAfterClose(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenDir(t, dir)
	mustIssue(t, s, bob, "cli", "laptop", "tok-1", t0)
	s = mustReopen(t, s, dir)
	if _, err := s.TokenByID("tok-1"); err != nil {
		t.Errorf("token lost across reopen: %v", err)
	}
}
