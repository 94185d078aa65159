package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gatehouse/store"
	"gatehouse/tokens"
)

// adminService is every operator task, run either inside `serve` (behind the
// admin socket) or directly on the file when no server runs. Both paths use
// the same code and answer the same JSON, so CLI output does not depend on
// which was taken.
type adminService struct {
	store   *store.Store
	now     func() time.Time
	log     *slog.Logger
	metrics *metrics // nil when running on the file directly
}

// AdminError is the error vocabulary of admin operations.
type AdminError struct {
	Code    string `json:"error"` // not_found, exists, invalid, internal
	Message string `json:"error_description"`
}

func (e *AdminError) Error() string { return e.Message }

// Admin error codes; ExitCode maps them to documented exit statuses.
const (
	AdminNotFound = "not_found"
	AdminExists   = "exists"
	AdminInvalid  = "invalid"
	AdminInternal = "internal"
)

func adminErrorOf(err error) *AdminError {
	var ae *AdminError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrNotFound):
		return &AdminError{AdminNotFound, err.Error()}
	case errors.Is(err, store.ErrExists):
		return &AdminError{AdminExists, err.Error()}
	case errors.Is(err, store.ErrInvalid):
		return &AdminError{AdminInvalid, err.Error()}
	}
	return &AdminError{AdminInternal, err.Error()}
}

func invalid(format string, args ...any) error {
	return &AdminError{AdminInvalid, fmt.Sprintf(format, args...)}
}

// RevokeRequest selects tokens to revoke. TokenHash is the hex SHA-256 of a
// token value: the CLI hashes --token itself, so no plaintext crosses the
// socket.
type RevokeRequest struct {
	TokenID   string `json:"token_id,omitempty"`
	TokenHash string `json:"token_hash,omitempty"`
	Email     string `json:"email,omitempty"`
	Issuer    string `json:"issuer,omitempty"`
	Client    string `json:"client,omitempty"`
	All       bool   `json:"all,omitempty"`
}

// TokenListRequest filters `tokens list`.
type TokenListRequest struct {
	Email       string `json:"email,omitempty"`
	Issuer      string `json:"issuer,omitempty"`
	Client      string `json:"client,omitempty"`
	IncludeDead bool   `json:"include_dead,omitempty"`
}

// TokenInfo is a token row as operators see it: never a hash.
type TokenInfo struct {
	ID            string    `json:"id"`
	Prefix        string    `json:"prefix"`
	Kind          string    `json:"kind"`
	SubjectEmail  string    `json:"subject_email"`
	SubjectIssuer string    `json:"subject_issuer"`
	ClientID      string    `json:"client_id"`
	DeviceLabel   string    `json:"device_label,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	LastUsedAt    time.Time `json:"last_used_at,omitzero"`
	ExpiresAt     time.Time `json:"expires_at"`
	RevokedAt     time.Time `json:"revoked_at,omitzero"`
	RevokedReason string    `json:"revoked_reason,omitempty"`
	LastSeenBy    string    `json:"last_seen_by,omitempty"` // resource server that last introspected it
}

func tokenInfo(t store.Token) TokenInfo {
	return TokenInfo{ID: t.ID, Prefix: t.Prefix, Kind: t.Kind, SubjectEmail: t.SubjectEmail, SubjectIssuer: t.SubjectIssuer,
		ClientID: t.ClientID, DeviceLabel: t.DeviceLabel, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt,
		ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt, RevokedReason: t.RevokedReason, LastSeenBy: t.LastSeenBy}
}

// UserRequest is user add / disable / enable / passwd.
type UserRequest struct {
	Email        string   `json:"email"`
	Name         string   `json:"name,omitempty"`
	Role         string   `json:"role,omitempty"`
	Workspaces   []string `json:"workspaces,omitempty"`
	PasswordHash string   `json:"password_hash,omitempty"`
	Disable      *bool    `json:"disable,omitempty"`
}

// UserInfo is an account as operators see it: never a password hash.
type UserInfo struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

func userInfo(a store.Account) UserInfo {
	return UserInfo{ID: a.ID, Email: a.Email, Name: a.Name, Role: a.Role, Disabled: a.Disabled, CreatedAt: a.CreatedAt}
}

// ClientRequest is client add / remove.
type ClientRequest struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// PruneRequest is `prune [--dry-run]`. The windows are taken as given: 0
// prunes dead rows at once (the CLI always sends its flags, whose defaults
// are DefaultRetention and DefaultAuditRetention).
type PruneRequest struct {
	DryRun         bool          `json:"dry_run"`
	Retention      time.Duration `json:"retention"`
	AuditRetention time.Duration `json:"audit_retention"`
}

// BackupRequest names the destination file (absolute).
type BackupRequest struct {
	Path string `json:"path"`
}

// BackupResult is what a backup wrote.
type BackupResult struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

// AuditRequest is `audit [--since]`.
type AuditRequest struct {
	Since time.Time `json:"since"`
	Limit int       `json:"limit"`
}

// do runs one named operation on raw JSON input and returns its result.
func (a *adminService) do(op string, in []byte) (any, error) {
	f, ok := a.ops()[op]
	if !ok {
		return nil, invalid("unknown admin operation %q", op)
	}
	return f(in)
}

type adminOp func(in []byte) (any, error)

func (a *adminService) ops() map[string]adminOp {
	return map[string]adminOp{
		"revoke":      decodeOp(a.revoke),
		"tokens.list": decodeOp(a.listTokens),
		"prune":       decodeOp(a.prune),
		"backup":      decodeOp(a.backup),
		"user.add":    decodeOp(a.addUser),
		"user.list":   decodeOp(func(struct{}) (any, error) { return a.listUsers() }),
		"user.update": decodeOp(a.updateUser),
		"client.add":  decodeOp(a.addClient),
		"client.list": decodeOp(func(struct{}) (any, error) { return a.store.ListClients() }),
		"client.remove": decodeOp(func(r ClientRequest) (any, error) {
			res, err := a.store.RemoveClient(r.ID, "operator", a.now())
			return res, named(err, "client "+r.ID)
		}),
		"audit": decodeOp(func(r AuditRequest) (any, error) { return a.store.Events(r.Since, r.Limit) }),
		"check": decodeOp(func(struct{}) (any, error) { return map[string]bool{"ok": true}, a.store.Check() }),
		// Resource servers (resources.go).
		"resource.add": decodeOp(func(r ResourceRequest) (any, error) {
			info, err := a.addResource(r)
			return info, named(err, "resource server "+r.Name)
		}),
		"resource.list": decodeOp(func(struct{}) (any, error) { return a.listResources() }),
		"resource.remove": decodeOp(func(r ResourceRequest) (any, error) {
			return r, named(a.store.RemoveResourceServer(r.Name, a.now()), "resource server "+r.Name)
		}),
	}
}

// named gives a store sentinel the object it is about, so the operator reads
// "account bob@example.com already exists" rather than "already exists".
func named(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrExists):
		return &AdminError{AdminExists, what + " already exists"}
	case errors.Is(err, store.ErrNotFound):
		return &AdminError{AdminNotFound, "no " + what}
	}
	return err
}

func decodeOp[T any](f func(T) (any, error)) adminOp {
	return func(in []byte) (any, error) {
		var req T
		if len(in) > 0 {
			if err := json.Unmarshal(in, &req); err != nil {
				return nil, invalid("malformed request: %v", err)
			}
		}
		return f(req)
	}
}

func (a *adminService) revoke(r RevokeRequest) (any, error) {
	f := store.RevokeFilter{TokenID: r.TokenID, Email: r.Email, Issuer: r.Issuer, Client: r.Client, All: r.All,
		Reason: "admin", Actor: "operator", Now: a.now()}
	if r.TokenHash != "" {
		if err := f.Hash.UnmarshalText([]byte(r.TokenHash)); err != nil {
			return nil, invalid("token hash: %v", err)
		}
	}
	if selectors(r) != 1 {
		return nil, invalid("name exactly one of --token-id, --token, --email, --client, --all")
	}
	res, err := a.store.Revoke(f)
	if errors.Is(err, store.ErrNotFound) && r.TokenHash != "" {
		// A revoked token's hash is cleared, so a value cannot be told
		// apart from one never issued.
		return nil, &AdminError{AdminNotFound, "no live token has that value (it may be revoked or expired already)"}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, &AdminError{AdminNotFound, "no token with id " + r.TokenID + " (see gatehouse tokens list --all)"}
	}
	if err == nil {
		a.metrics.tokenEvent("revoked", len(res.Revoked))
		a.log.Info("admin revoke", slog.Int("revoked", len(res.Revoked)), slog.Int("already", res.AlreadyRevoked))
	}
	return res, err
}

func selectors(r RevokeRequest) int {
	n := 0
	for _, set := range []bool{r.TokenID != "", r.TokenHash != "", r.Email != "", r.Client != "", r.All} {
		if set {
			n++
		}
	}
	return n
}

func (a *adminService) listTokens(r TokenListRequest) (any, error) {
	rows, err := a.store.ListTokens(store.TokenFilter{Email: r.Email, Issuer: r.Issuer, Client: r.Client, IncludeDead: r.IncludeDead, Now: a.now()})
	out := make([]TokenInfo, 0, len(rows))
	for _, t := range rows {
		out = append(out, tokenInfo(t))
	}
	return out, err
}

func (a *adminService) prune(r PruneRequest) (any, error) {
	if r.Retention < 0 || r.AuditRetention < 0 {
		return nil, invalid("retention must not be negative")
	}
	return a.store.Prune(store.PrunePolicy{Now: a.now(), Retention: r.Retention, AuditRetention: r.AuditRetention,
		DeviceCodeGrace: time.Hour, DryRun: r.DryRun})
}

func (a *adminService) backup(r BackupRequest) (any, error) {
	if r.Path == "" {
		return nil, invalid("backup needs a destination file")
	}
	n, err := a.store.Backup(r.Path)
	return BackupResult{Path: r.Path, Bytes: n}, err
}

func (a *adminService) addUser(r UserRequest) (any, error) {
	if !validEmail(r.Email) {
		return nil, invalid("email %q does not look like an email address", r.Email)
	}
	if r.PasswordHash == "" || !strings.HasPrefix(r.PasswordHash, "$argon2id$") {
		return nil, invalid("a password hash is required")
	}
	if r.Role == "" {
		r.Role = "member"
	}
	if r.Role != "member" && r.Role != "admin" {
		return nil, invalid("role must be member or admin")
	}
	if !validDisplayName(r.Name) {
		return nil, invalid("name %q: use at most 100 printable characters", r.Name)
	}
	for _, w := range r.Workspaces {
		if w == "" || !validDisplayName(w) {
			return nil, invalid("workspace %q: use 1 to 100 printable characters", w)
		}
	}
	if len(r.Workspaces) == 0 {
		r.Workspaces = []string{"default"}
	}
	acct, err := createAccountHashed(a.store, r, a.now())
	return userInfo(acct), named(err, "account "+r.Email)
}

func (a *adminService) listUsers() (any, error) {
	rows, err := a.store.ListAccounts()
	out := make([]UserInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, userInfo(r))
	}
	return out, err
}

func (a *adminService) updateUser(r UserRequest) (any, error) {
	if r.Disable == nil && r.PasswordHash == "" {
		return nil, invalid("nothing to change")
	}
	acct, err := a.store.UpdateAccount(store.AccountUpdate{Email: r.Email, Disable: r.Disable, PasswordHash: r.PasswordHash, Now: a.now(), Actor: "operator"})
	return userInfo(acct), named(err, "account "+r.Email+" (see gatehouse user list)")
}

func (a *adminService) addClient(r ClientRequest) (any, error) {
	if !validClientID(r.ID) {
		return nil, invalid("client id %q: use 1-64 letters, digits, '-', '_' or '.'", r.ID)
	}
	if r.Name == "" {
		r.Name = r.ID
	}
	if !validDisplayName(r.Name) {
		return nil, invalid("client name %q: use at most 100 printable characters (it is shown on the approval page)", r.Name)
	}
	c := store.Client{ID: r.ID, Name: r.Name, CreatedAt: a.now()}
	return c, named(a.store.PutClient(c), "client "+r.ID)
}

// validDisplayName admits names people read (on the approval page, in CLI
// tables): valid UTF-8, at most 100 characters, nothing a terminal or a
// bidi renderer would act on.
func validDisplayName(n string) bool {
	return utf8.ValidString(n) && utf8.RuneCountInString(n) <= 100 &&
		!strings.ContainsFunc(n, func(r rune) bool { return !unicode.IsPrint(r) })
}

func validClientID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func validEmail(e string) bool {
	at := strings.LastIndexByte(e, '@')
	return at > 0 && at < len(e)-1 && len(e) <= 254 && utf8.ValidString(e) &&
		!strings.ContainsFunc(e, func(r rune) bool { return !unicode.IsPrint(r) || strings.ContainsRune(" <>\"", r) })
}

// CreateAccount hashes password and creates an account (used by bootstrap
// and tests).
func CreateAccount(st *store.Store, email, name, role, password string, workspaces []string, cost tokens.Argon2Params, now time.Time) (UserInfo, error) {
	h, err := tokens.HashPassword(password, cost)
	if err != nil {
		return UserInfo{}, err
	}
	a, err := createAccountHashed(st, UserRequest{Email: email, Name: name, Role: role, Workspaces: workspaces, PasswordHash: h}, now)
	return userInfo(a), err
}

func createAccountHashed(st *store.Store, r UserRequest, now time.Time) (store.Account, error) {
	return st.CreateAccount(store.NewAccount{
		Account:      store.Account{ID: mustID("acc_"), Email: r.Email, Name: r.Name, Role: r.Role, PasswordHash: r.PasswordHash, CreatedAt: now},
		Workspaces:   r.Workspaces,
		WorkspaceIDs: func() string { return mustID("ws_") },
	})
}
