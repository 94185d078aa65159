package server

import (
	"time"

	"gatehouse/store"
	"gatehouse/tokens"
)

// ResourceSecretPrefix starts every resource server secret (beside the token
// kinds dfoa_ and dfoe_), so a leaked one is recognisable by secret scanners
// and in reviews.
const ResourceSecretPrefix = "dfor_"

// ResourceRequest is resource add / remove. SecretHash is the hex SHA-256 of
// the secret: the CLI draws the secret and hashes it itself, so no
// plaintext crosses the admin socket.
type ResourceRequest struct {
	Name       string `json:"name"`
	SecretHash string `json:"secret_hash,omitempty"`
}

// ResourceInfo is a resource server as operators see it: never its hash.
type ResourceInfo struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// NewResourceSecret draws a resource server secret: 32 random bytes, so its
// SHA-256 alone protects it at rest.
func NewResourceSecret() (string, error) {
	r, err := tokens.RandomString(32)
	if err != nil {
		return "", err
	}
	return ResourceSecretPrefix + r, nil
}

func (a *adminService) addResource(r ResourceRequest) (any, error) {
	if !validClientID(r.Name) {
		return nil, invalid("resource server name %q: use 1-64 letters, digits, '-', '_' or '.'", r.Name)
	}
	var h tokens.Hash
	if err := h.UnmarshalText([]byte(r.SecretHash)); err != nil || h.IsZero() {
		return nil, invalid("a secret hash is required")
	}
	rs := store.ResourceServer{Name: r.Name, SecretHash: h, CreatedAt: a.now()}
	if err := a.store.PutResourceServer(rs); err != nil {
		return nil, err
	}
	return ResourceInfo{Name: rs.Name, CreatedAt: rs.CreatedAt}, nil
}

func (a *adminService) listResources() ([]ResourceInfo, error) {
	rows, err := a.store.ListResourceServers()
	out := make([]ResourceInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, ResourceInfo{Name: r.Name, CreatedAt: r.CreatedAt})
	}
	return out, err
}
