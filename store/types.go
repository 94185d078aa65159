package store

import (
	"time"

	"gatehouse/tokens"
)

// LocalIssuer is the subject issuer of local accounts: fixed and non-empty so
// account tokens share the active-per-device index with SSO subjects safely.
const LocalIssuer = "gatehouse:local"

// Device code states.
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
	StatusDenied   = "denied"
)

// Subject is who approved a code and so who a token speaks for.
type Subject struct {
	Type        string `json:"type"` // tokens.Kind.SubjectType
	Email       string `json:"email"`
	Issuer      string `json:"issuer"`
	AccountID   string `json:"account_id,omitempty"`
	WorkspaceID string `json:"workspace_id,omitempty"`
}

// DeviceCode is one device authorization request, keyed by the hash of its
// device_code.
type DeviceCode struct {
	Hash        tokens.Hash `json:"-"`
	UserCode    string      `json:"user_code"`
	ClientID    string      `json:"client_id"`
	DeviceLabel string      `json:"device_label,omitempty"`
	Scope       string      `json:"scope,omitempty"`
	RequesterIP string      `json:"requester_ip,omitempty"`
	Interval    int         `json:"interval"`
	CreatedAt   time.Time   `json:"created_at"`
	ExpiresAt   time.Time   `json:"expires_at"`
	Status      string      `json:"status"`
	Subject     *Subject    `json:"subject,omitempty"`
	ResolvedAt  time.Time   `json:"resolved_at,omitzero"`
}

// Expired reports whether the code is past its lifetime at now.
func (d DeviceCode) Expired(now time.Time) bool { return !now.Before(d.ExpiresAt) }

// Token is one issued bearer token. Hash is empty once the token is revoked
// or hard-expired; the row stays for audit until pruned.
type Token struct {
	ID            string      `json:"id"`
	Hash          tokens.Hash `json:"hash,omitzero"`
	Kind          string      `json:"kind"`
	Prefix        string      `json:"prefix"`
	SubjectEmail  string      `json:"subject_email"`
	SubjectIssuer string      `json:"subject_issuer"`
	AccountID     string      `json:"account_id,omitempty"`
	WorkspaceID   string      `json:"workspace_id,omitempty"`
	ClientID      string      `json:"client_id"`
	DeviceLabel   string      `json:"device_label,omitempty"`
	CreatedAt     time.Time   `json:"created_at"`
	RotatedAt     time.Time   `json:"rotated_at,omitzero"`
	ExpiresAt     time.Time   `json:"expires_at"`
	LastUsedAt    time.Time   `json:"last_used_at,omitzero"`
	// LastSeenBy is the resource server that last introspected the token,
	// at LastSeenByAt (written in batches, like LastUsedAt).
	LastSeenBy    string    `json:"last_seen_by,omitempty"`
	LastSeenByAt  time.Time `json:"last_seen_by_at,omitzero"`
	RevokedAt     time.Time `json:"revoked_at,omitzero"`
	RevokedReason string    `json:"revoked_reason,omitempty"`
}

// Live reports whether the token may still be used at now.
func (t Token) Live(now time.Time) bool {
	return t.RevokedAt.IsZero() && now.Before(t.ExpiresAt)
}

// Account is a local user.
type Account struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         string    `json:"role"` // "admin" or "member"
	PasswordHash string    `json:"password_hash"`
	Disabled     bool      `json:"disabled,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	// DefaultWorkspaceID is the first workspace the account joined; it is
	// listed first and preselected at approval.
	DefaultWorkspaceID string `json:"default_workspace_id,omitempty"`
}

// Workspace groups accounts; tokens carry the workspace chosen at approval.
type Workspace struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Membership is an account's role in one workspace.
type Membership struct {
	Workspace Workspace `json:"workspace"`
	Role      string    `json:"role"`
}

// Session is a signed-in browser, keyed by the hash of its cookie.
type Session struct {
	AccountID string    `json:"account_id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Client is a registered OAuth client (a CLI).
type Client struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Event is one audit record. It never holds a secret: only ids, emails and
// hash prefixes.
type Event struct {
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
	Type    string    `json:"type"`
	Actor   string    `json:"actor,omitempty"`
	Subject string    `json:"subject,omitempty"`
	// Issuer is the subject's issuer, on events about a person's device or
	// token (LocalIssuer for an account).
	Issuer  string `json:"issuer,omitempty"`
	TokenID string `json:"token_id,omitempty"`
	Client  string `json:"client_id,omitempty"`
	IP      string `json:"ip,omitempty"`
	Detail  string `json:"detail,omitempty"`
}
