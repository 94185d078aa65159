package server

import (
	"time"

	"gatehouse/store"
	"gatehouse/tokens"
)

// subjectView is who a token speaks for, as /v1/me and the token response
// show it.
type subjectView struct {
	SubjectType        string          `json:"subject_type"`
	SubjectEmail       string          `json:"subject_email"`
	SubjectIssuer      string          `json:"subject_issuer"`
	Account            *accountView    `json:"account"`
	Workspaces         []workspaceView `json:"workspaces"`
	DefaultWorkspaceID string          `json:"default_workspace_id"`
}

type accountView struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

type workspaceView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

func viewAccount(a store.Account) *accountView {
	return &accountView{ID: a.ID, Email: a.Email, Name: a.Name, Role: a.Role}
}

func viewWorkspaces(ms []store.Membership) []workspaceView {
	out := make([]workspaceView, 0, len(ms))
	for _, m := range ms {
		out = append(out, workspaceView{ID: m.Workspace.ID, Name: m.Workspace.Name, Role: m.Role})
	}
	return out
}

// subjectOf builds the subject view of a token row.
func (s *Server) subjectOf(kind tokens.Kind, t store.Token) (subjectView, error) {
	v := subjectView{SubjectType: kind.SubjectType, SubjectEmail: t.SubjectEmail,
		SubjectIssuer: t.SubjectIssuer, Workspaces: []workspaceView{}, DefaultWorkspaceID: t.WorkspaceID}
	if t.AccountID == "" {
		return v, nil
	}
	a, ms, err := s.store.AccountByID(t.AccountID)
	if err != nil {
		return v, err
	}
	v.Account, v.Workspaces = viewAccount(a), viewWorkspaces(ms)
	return v, nil
}

// tokenResponse is RFC 6749 §5.1 plus Gatehouse's own fields.
func (s *Server) tokenResponse(plain string, kind tokens.Kind, t store.Token) (map[string]any, error) {
	subj, err := s.subjectOf(kind, t)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"access_token": plain, "token_type": "Bearer", "scope": kind.ScopeString(),
		"expires_in": int(t.ExpiresAt.Sub(s.now()).Round(time.Second) / time.Second), // 1209600, not 1209599 a few µs later
		"token":      plain, "expires_at": t.ExpiresAt.UTC().Format(time.RFC3339), "token_id": t.ID,
		"subject_type": subj.SubjectType, "subject_email": subj.SubjectEmail, "subject_issuer": subj.SubjectIssuer,
		"account": subj.Account, "workspaces": subj.Workspaces, "default_workspace_id": subj.DefaultWorkspaceID,
	}, nil
}

// newID returns a random, URL-safe identifier with a type prefix.
func newID(prefix string) (string, error) {
	r, err := tokens.RandomString(12)
	if err != nil {
		return "", err
	}
	return prefix + r, nil
}

func mustID(prefix string) string {
	id, err := newID(prefix)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return id
}
