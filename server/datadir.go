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
)

// KeyFileName is the generated secret key's file in the data directory.
const KeyFileName = "secret.key"

// MinKeyBytes is the shortest secret key Gatehouse accepts.
const MinKeyBytes = 32

// ErrSecretKey wraps every problem with the secret key; start-up stops.
var ErrSecretKey = errors.New("secret key")

// prepareDataDir creates the data directory 0700, or tightens an existing one
// this process owns.
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
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data dir %s is readable by others and cannot be tightened: %w (chmod 700 it)", dir, err)
		}
	}
	return nil
}

// loadOrCreateKey returns the secret key: from the environment when given,
// else from the key file, generating a 0600 file on a fresh data directory.
// A short, empty or unreadable key stops start-up and is never rewritten.
func loadOrCreateKey(dir, fromEnv string) ([]byte, error) {
	if fromEnv != "" {
		if len(fromEnv) < MinKeyBytes {
			return nil, fmt.Errorf("%w: GATEHOUSE_SECRET_KEY is %d bytes; it must be at least %d", ErrSecretKey, len(fromEnv), MinKeyBytes)
		}
		return []byte(fromEnv), nil
	}
	path := filepath.Join(dir, KeyFileName)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrSecretKey, path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) < MinKeyBytes {
		return nil, fmt.Errorf("%w: %s must hold at least %d bytes as hex; restore it from backup (tokens and sessions depend on it), or move it away to generate a new one",
			ErrSecretKey, path, MinKeyBytes)
	}
	return key, nil
}

func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, MinKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: create %s: %w", ErrSecretKey, path, err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("%w: write %s: %w", ErrSecretKey, path, err)
	}
	return key, nil
}
