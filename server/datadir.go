package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"gatehouse/store"
)

// KeyFileName is the generated secret key's file in the data directory.
const KeyFileName = "secret.key"

// MinKeyBytes is the shortest secret key Gatehouse accepts.
const MinKeyBytes = 32

// ErrSecretKey wraps every problem with the secret key; start-up stops.
var ErrSecretKey = errors.New("secret key")

// prepareDataDir creates the data directory 0700, or tightens an existing one
// this process owns, and makes sure this process may write in it.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir %s: %w (create it, or point --data-dir somewhere writable)", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data dir %s is not a directory", dir)
	}
	if err := checkWritable(dir); err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data dir %s is readable by others and cannot be tightened: %w (chmod 700 it)", dir, err)
		}
	}
	return nil
}

// access(2) modes.
const (
	accessWrite  = 0x2
	accessSearch = 0x1
)

// checkWritable names the usual reasons a data directory refuses writes
// before any of them fails halfway through start-up.
func checkWritable(dir string) error {
	err := syscall.Access(dir, accessWrite|accessSearch)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("data dir %s is on a read-only file system: gatehouse writes its data file, lock, pid file and admin socket there; remount it read-write or point --data-dir at a writable directory", dir)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("data dir %s is not writable by this user (uid %d): run gatehouse as the user that owns it, or chown it to this user (mode 700)", dir, os.Getuid())
	}
	return fmt.Errorf("data dir %s: %w", dir, err)
}

// loadOrCreateKey returns the secret key: from the environment when given,
// else from the key file, generating a 0600 file on a fresh data directory.
// A short, empty, unreadable, world-readable or lost key stops start-up and
// is never rewritten.
func loadOrCreateKey(dir, fromEnv string) ([]byte, error) {
	if fromEnv != "" {
		if len(fromEnv) < MinKeyBytes {
			return nil, fmt.Errorf("%w: GATEHOUSE_SECRET_KEY is %d bytes; it must be at least %d", ErrSecretKey, len(fromEnv), MinKeyBytes)
		}
		return []byte(fromEnv), nil
	}
	path := filepath.Join(dir, KeyFileName)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if hasDataFile(dir) {
			return nil, lostKeyError(dir, path)
		}
		return createKeyFile(path)
	}
	if err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s is readable by group or others (mode %04o); chmod 600 it", ErrSecretKey, path, fi.Mode().Perm())
	}
	return readKeyFile(path)
}

func readKeyFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("%w: read %s: %w: run gatehouse as the user that owns it", ErrSecretKey, path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrSecretKey, path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) < MinKeyBytes {
		return nil, fmt.Errorf("%w: %s must hold at least %d bytes as hex; restore it from backup (browser sign-ins depend on it), or make a new one: (umask 077; openssl rand -hex 32 > %s)",
			ErrSecretKey, path, MinKeyBytes, path)
	}
	return key, nil
}

// lostKeyError: the data file exists but its key does not. A new key would
// quietly break every open browser page, and a key missing at boot (an
// unmounted volume, a botched restore) is worth stopping for.
func lostKeyError(dir, path string) error {
	return fmt.Errorf("%w: %s is missing but %s exists: restore the key from the backup taken with the data file, or set GATEHOUSE_SECRET_KEY; if it is lost for good, make a new one (open browser pages must then reload): (umask 077; openssl rand -hex 32 > %s)",
		ErrSecretKey, path, filepath.Join(dir, store.FileName), path)
}

// RequireDataDir is how every command but serve checks its --data-dir: the
// directory must exist, and with needFile it must hold a data file. The
// error is an AdminError with code not_found naming the directory.
func RequireDataDir(dir string, needFile bool) error {
	shown := dir
	if abs, err := filepath.Abs(dir); err == nil && abs != filepath.Clean(dir) {
		shown = fmt.Sprintf("%s (%s)", dir, abs)
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return &AdminError{Code: AdminNotFound, Message: fmt.Sprintf("no data directory at %s: wrong --data-dir or working directory? `gatehouse serve` creates it", shown)}
	}
	if needFile && !hasDataFile(dir) {
		return &AdminError{Code: AdminNotFound, Message: fmt.Sprintf("no Gatehouse data file in %s: start gatehouse serve there once, or pass the right --data-dir", shown)}
	}
	return nil
}

func hasDataFile(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, store.FileName))
	return err == nil
}

// ensureKey gives a data directory that has neither a data file nor a key
// (an admin command run before the first start) its key, so the file an
// admin command creates never exists without one.
func ensureKey(dir string) error {
	if hasDataFile(dir) {
		return nil
	}
	if _, err := os.Lstat(filepath.Join(dir, KeyFileName)); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	_, err := createKeyFile(filepath.Join(dir, KeyFileName))
	return err
}

// createKeyFile writes a new key to a temporary file and links it into
// place, so a crash or a full disk never leaves a short key file behind,
// and a key that appeared meanwhile is never replaced.
func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, MinKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret.key-*")
	if err != nil {
		return nil, fmt.Errorf("%w: create %s: %w", ErrSecretKey, path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	if errors.Is(err, fs.ErrExist) {
		return readKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: write %s: %w", ErrSecretKey, path, err)
	}
	return key, syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
