package server

import (
	"testing"
	"time"

	"gatehouse/store"
)

// TestSubjectAndIssuedAt pins the documented "sub" and "iat" choices.
func TestSubjectAndIssuedAt(t *testing.T) {
	created := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		tok    store.Token
		sub    string
		issued time.Time
	}{
		{"local account: its account id", store.Token{AccountID: "acc_1", SubjectEmail: "a@x", CreatedAt: created}, "acc_1", created},
		{"SSO subject: its email", store.Token{SubjectEmail: "b@corp", SubjectIssuer: "https://idp", CreatedAt: created}, "b@corp", created},
		{"rotated: the new value's time", store.Token{AccountID: "acc_1", CreatedAt: created, RotatedAt: created.Add(time.Hour)}, "acc_1", created.Add(time.Hour)},
	}
	for _, c := range cases {
		if got := subjectID(c.tok); got != c.sub {
			t.Errorf("%s: sub %q, want %q", c.name, got, c.sub)
		}
		if got := issuedAt(c.tok); !got.Equal(c.issued) {
			t.Errorf("%s: iat %v, want %v", c.name, got, c.issued)
		}
	}
}
