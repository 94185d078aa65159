package deviceclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Credential is what `gatehouse login` keeps for one server.
type Credential struct {
	Server       string `json:"server"`
	Token        string `json:"token"`
	TokenID      string `json:"token_id"`
	ExpiresAt    string `json:"expires_at"`
	SubjectEmail string `json:"subject_email"`
}

// ErrNotLoggedIn means no credential is kept for the server.
var ErrNotLoggedIn = errors.New("not logged in")

// Creds is the credential file: one entry per server URL, 0600 in a 0700
// directory.
type Creds struct{ Dir string }

// DefaultDir is $XDG_CONFIG_HOME/gatehouse (or the OS equivalent).
func DefaultDir() string {
	base, err := os.UserConfigDir()
	if err != nil {
		base = "."
	}
	return filepath.Join(base, "gatehouse")
}

// Path is the credential file.
func (c Creds) Path() string { return filepath.Join(c.Dir, "credentials.json") }

func (c Creds) load() (map[string]Credential, error) {
	all := map[string]Credential{}
	raw, err := os.ReadFile(c.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", c.Path(), err)
	}
	return all, nil
}

// Get returns the credential for server.
func (c Creds) Get(server string) (Credential, error) {
	all, err := c.load()
	if err != nil {
		return Credential{}, err
	}
	cr, ok := all[server]
	if !ok {
		return Credential{}, ErrNotLoggedIn
	}
	return cr, nil
}

// Put stores (or, with an empty token, removes) the credential for its
// server, writing a temporary file and renaming it so a crash never leaves a
// half-written file.
func (c Creds) Put(cr Credential) error {
	all, err := c.load()
	if err != nil {
		return err
	}
	if cr.Token == "" {
		delete(all, cr.Server)
	} else {
		all[cr.Server] = cr
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	tmp := c.Path() + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, c.Path())
}
