package server_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"gatehouse/store"
)

func TestExpiredTokenIsRefusedAndHardExpiredOnce(t *testing.T) {
	ts := startServer(t)
	b := ts.signIn(testEmail, testPassword)
	tok := ts.approvedToken(b, "laptop")["access_token"].(string)
	id := ""
	if st, _, me := ts.me(tok); st != 200 {
		t.Fatalf("fresh token: %d", st)
	} else {
		id = me["token_id"].(string)
	}
	ts.clock.Advance(14*24*time.Hour - time.Second)
	if st, _, _ := ts.me(tok); st != 200 {
		t.Fatalf("one second before expiry: %d", st)
	}
	ts.clock.Advance(time.Second)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, h, body := ts.me(tok); st != 401 || body["error"] != "invalid_token" || h.Get("WWW-Authenticate") == "" {
				t.Errorf("at expiry: %d %v %v", st, body, h)
			}
		}()
	}
	wg.Wait()
	row, err := ts.Store().TokenByID(id)
	if err != nil || row.RevokedReason != "expired" || !row.Hash.IsZero() {
		t.Fatalf("row after hard expiry: %+v %v", row, err)
	}
	evs, _ := ts.Store().Events(time.Time{}, 0)
	n := 0
	for _, e := range evs {
		if e.Type == "token.hard_expired" && e.TokenID == id {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d hard-expiry events for concurrent presentations, want exactly 1", n)
	}
	// A hard-expired row never blocks a new login on the same device.
	b = ts.signIn(testEmail, testPassword) // the browser session expired long ago
	tok2 := ts.approvedToken(b, "laptop")["access_token"].(string)
	if st, _, me := ts.me(tok2); st != 200 || me["token_id"] == id {
		t.Fatalf("new login after expiry: %d %v", st, me)
	}
}

func TestReloginOnSameDeviceRotatesInPlace(t *testing.T) {
	ts := startServer(t)
	b := ts.signIn(testEmail, testPassword)
	first := ts.approvedToken(b, "laptop")
	second := ts.approvedToken(b, "laptop")
	if first["token_id"] != second["token_id"] {
		t.Fatalf("re-login on the same device must keep the id: %v vs %v", first["token_id"], second["token_id"])
	}
	if st, _, _ := ts.me(first["access_token"].(string)); st != 401 {
		t.Fatalf("rotated-out token: %d, want 401", st)
	}
	if st, _, _ := ts.me(second["access_token"].(string)); st != 200 {
		t.Fatalf("rotated-in token: %d", st)
	}
	other := ts.approvedToken(b, "desktop")
	if other["token_id"] == first["token_id"] {
		t.Fatal("another device label must get its own token")
	}
}

func TestAuthorizationsListAndRevokeOwnOnly(t *testing.T) {
	ts := startServer(t)
	ada := ts.signIn(testEmail, testPassword)
	laptop := ts.approvedToken(ada, "laptop")
	desktop := ts.approvedToken(ada, "desktop")
	admin := ts.signIn(testEmail, testPassword) // same subject, separate session
	_ = admin
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	st, _, body := ts.do("GET", "/v1/oauth/authorizations", "", "", bearer(laptop["access_token"].(string)))
	if st != 200 {
		t.Fatalf("list: %d %v", st, body)
	}
	list := body["authorizations"].([]any)
	if len(list) != 2 {
		t.Fatalf("want 2 live authorizations, got %v", list)
	}
	for _, a := range list {
		if _, leaked := a.(map[string]any)["hash"]; leaked {
			t.Fatal("a hash must never be listed")
		}
	}
	// Someone else's id: 404, not 403.
	otherID := seedForeignToken(t, ts)
	if st, _, _ := ts.do("DELETE", "/v1/oauth/authorizations/"+otherID, "", "", bearer(laptop["access_token"].(string))); st != 404 {
		t.Fatalf("revoking another subject's token: %d, want 404", st)
	}
	if st, _, _ := ts.do("DELETE", "/v1/oauth/authorizations/"+desktop["token_id"].(string), "", "", bearer(laptop["access_token"].(string))); st != 200 {
		t.Fatalf("revoking own other device: %d", st)
	}
	if st, _, _ := ts.me(desktop["access_token"].(string)); st != 401 {
		t.Fatalf("revoked desktop token: %d", st)
	}
	if st, _, _ := ts.do("DELETE", "/v1/oauth/authorizations/self", "", "", bearer(laptop["access_token"].(string))); st != 200 {
		t.Fatalf("revoke self: %d", st)
	}
	if st, _, _ := ts.me(laptop["access_token"].(string)); st != http.StatusUnauthorized {
		t.Fatalf("after revoke self: %d", st)
	}
}

// seedForeignToken gives an SSO subject with the same email a token, and
// returns its id: same email, other issuer, so a different subject.
func seedForeignToken(t *testing.T, ts *testServer) string {
	t.Helper()
	rows, err := ts.Store().ListTokens(store.TokenFilter{Now: ts.clock.Now()})
	if err != nil || len(rows) == 0 {
		t.Fatalf("rows: %v", err)
	}
	dc, uc := ts.startFlow("sso-box")
	_ = dc
	code := normalize(t, uc)
	if _, err := ts.Store().ResolveDeviceCode(store.Resolution{UserCode: code, Approve: true,
		Subject: store.Subject{Type: "external", Email: testEmail, Issuer: "https://idp.example"}, Now: ts.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	ts.clock.Advance(6 * time.Second)
	st, body := ts.poll(dc)
	if st != 200 {
		t.Fatalf("sso poll: %d %v", st, body)
	}
	if body["subject_type"] != "external" || body["scope"] != "apps:run" {
		t.Fatalf("external token response: %v", body)
	}
	return body["token_id"].(string)
}

func TestLastUsedIsWrittenInBatches(t *testing.T) {
	ts := startServer(t)
	b := ts.signIn(testEmail, testPassword)
	tok := ts.approvedToken(b, "laptop")
	id := tok["token_id"].(string)
	for i := 0; i < 5; i++ {
		ts.me(tok["access_token"].(string))
	}
	row, _ := ts.Store().TokenByID(id)
	if !row.LastUsedAt.IsZero() {
		t.Fatal("last_used_at must not be written on the request path")
	}
	if err := ts.Close(); err != nil { // shutdown flushes the batch
		t.Fatal(err)
	}
	st, err := store.Open(ts.cfgDataDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	row, _ = st.TokenByID(id)
	if !row.LastUsedAt.Equal(ts.clock.Now()) {
		t.Fatalf("last_used_at %v, want %v", row.LastUsedAt, ts.clock.Now())
	}
}

// TestDefaultWorkspaceIsTheFirstJoined: the picker's order and default do
// not depend on random workspace ids.
func TestDefaultWorkspaceIsTheFirstJoined(t *testing.T) {
	for i := 0; i < 5; i++ {
		ts := startServer(t)
		b := ts.signIn(testEmail, testPassword)
		ws := b.sess["workspaces"].([]any)
		first := ws[0].(map[string]any)
		if first["name"] != "default" || b.sess["default_workspace_id"] != first["id"] || ws[1].(map[string]any)["name"] != "research" {
			t.Fatalf("workspaces %v, default %v", ws, b.sess["default_workspace_id"])
		}
	}
}
