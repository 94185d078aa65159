package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/server"
)

// My devices API: GET /console/api/devices, POST .../devices/revoke and
// .../devices/revoke-all, all on the session cookie.

const (
	pathDevices   = "/console/api/devices"
	pathRevoke1   = "/console/api/devices/revoke"
	pathRevokeAll = "/console/api/devices/revoke-all"
)

func TestMyDevicesListsTheCallersLiveTokensOnly(t *testing.T) {
	ts := startServer(t)
	ada := ts.signIn(testEmail, testPassword)
	laptop := ts.approvedToken(ada, "laptop")
	ts.clock.Advance(time.Minute)
	desktop := ts.approvedToken(ada, "desktop")
	gone := ts.approvedToken(ada, "old-box")
	if st, _, _ := ts.do("DELETE", "/v1/oauth/authorizations/self", "", "", bearerOf(gone)); st != 200 {
		t.Fatalf("revoke old-box: %d", st)
	}
	sso := seedForeignToken(t, ts) // same email, SSO issuer: another subject
	other := otherMembersToken(t, ts)

	st, body := ada.getJSON(pathDevices)
	if st != 200 {
		t.Fatalf("GET %s: %d %v", pathDevices, st, body)
	}
	devices := listOf(t, body, "devices")
	ids := idsOf(devices)
	if want := []string{tokenID(desktop), tokenID(laptop)}; strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("devices %v, want %v (live, own, newest first); not %s (SSO subject) or %s (another account)", ids, want, sso, other)
	}
	d := devices[0]
	for field, want := range map[string]any{"client_id": server.DefaultClientID, "client_name": "Gatehouse CLI",
		"device_label": "desktop", "last_used_at": nil} {
		if d[field] != want {
			t.Errorf("%s = %v, want %v", field, d[field], want)
		}
	}
	for _, field := range []string{"prefix", "created_at", "expires_at"} {
		if s, _ := d[field].(string); s == "" {
			t.Errorf("%s missing in %v", field, d)
		}
	}
	if !strings.HasPrefix(d["prefix"].(string), "dfoa_") || len(d["prefix"].(string)) > 12 {
		t.Errorf("prefix %q: want the display prefix only", d["prefix"])
	}
	if _, leaked := d["hash"]; leaked {
		t.Fatal("a token hash must never be listed")
	}
}

func TestMyDevicesShowsLastUse(t *testing.T) {
	ts := startServer(t)
	ada := ts.signIn(testEmail, testPassword)
	tok := ts.approvedToken(ada, "laptop")
	if st, _, _ := ts.me(tok["access_token"].(string)); st != 200 {
		t.Fatal("token does not work")
	}
	used := ts.clock.Now()
	ts.clock.Advance(time.Hour)
	if err := ts.Store().TouchTokens(map[string]time.Time{tokenID(tok): used}); err != nil {
		t.Fatal(err)
	}
	_, body := ada.getJSON(pathDevices)
	got, _ := listOf(t, body, "devices")[0]["last_used_at"].(string)
	if at, err := time.Parse(time.RFC3339Nano, got); err != nil || !at.Equal(used) {
		t.Fatalf("last_used_at %q, want %s", got, used.Format(time.RFC3339))
	}
}

func TestMyDevicesNeedsASession(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct{ method, path, body string }{
		{"GET", pathDevices, ""},
		{"POST", pathRevoke1, `{"token_id":"tok_x"}`},
		{"POST", pathRevokeAll, `{}`},
	} {
		st, _, body := ts.do(tc.method, tc.path, "application/json", tc.body, nil)
		if st != http.StatusUnauthorized || body["error"] != "unauthenticated" {
			t.Errorf("%s %s signed out: %d %v, want 401 unauthenticated", tc.method, tc.path, st, body)
		}
	}
}

func TestMyDevicesReadRefusesAForeignOrigin(t *testing.T) {
	ts := startServer(t)
	ada := ts.signIn(testEmail, testPassword)
	st, _, body := doWith(t, ada.http, "GET", ts.URL+pathDevices, "", "", map[string]string{"Origin": "https://evil.example"})
	if st != http.StatusForbidden || body["error"] != "csrf_failed" {
		t.Fatalf("cross-site read: %d %v, want 403 csrf_failed", st, body)
	}
}

func TestMyDevicesRevokesNeedCSRFAndOrigin(t *testing.T) {
	ts := startServer(t)
	ada := ts.signIn(testEmail, testPassword)
	tok := ts.approvedToken(ada, "laptop")
	body := `{"token_id":"` + tokenID(tok) + `"}`
	for _, path := range []string{pathRevoke1, pathRevokeAll} {
		for name, hdr := range map[string]map[string]string{
			"no X-CSRF-Token":        {"X-CSRF-Token": ""},
			"wrong X-CSRF-Token":     {"X-CSRF-Token": "x" + ada.csrf},
			"another site's Origin":  {"Origin": "https://evil.example"},
			"another site's Referer": {"Referer": "https://evil.example/page"},
		} {
			st, out := ada.postJSON(path, body, hdr)
			if st != http.StatusForbidden || out["error"] != "csrf_failed" {
				t.Errorf("%s with %s: %d %v, want 403 csrf_failed", path, name, st, out)
			}
		}
	}
	if st, _, _ := ts.me(tok["access_token"].(string)); st != 200 {
		t.Fatalf("a refused revoke still revoked the token: /v1/me %d", st)
	}
}

func TestMyDevicesRevokeOneOwnOnly(t *testing.T) {
	ts := startServer(t)
	ada := ts.signIn(testEmail, testPassword)
	laptop := ts.approvedToken(ada, "laptop")
	desktop := ts.approvedToken(ada, "desktop")
	sso := seedForeignToken(t, ts)
	other := otherMembersToken(t, ts)

	for name, id := range map[string]string{"an SSO subject's with the same email": sso,
		"another account's": other, "an unknown": "tok_doesnotexist", "an overlong": strings.Repeat("t", 65)} {
		st, out := ada.postJSON(pathRevoke1, `{"token_id":"`+id+`"}`, nil)
		if st != http.StatusNotFound || out["error"] != "not_found" {
			t.Errorf("revoking %s token: %d %v, want 404 not_found", name, st, out)
		}
	}
	if st, out := ada.postJSON(pathRevoke1, `{}`, nil); st != 400 || out["error"] != "invalid_request" {
		t.Errorf("no token_id: %d %v, want 400 invalid_request", st, out)
	}
	for _, id := range []string{sso, other} {
		if row, _ := ts.Store().TokenByID(id); !row.Live(ts.clock.Now()) {
			t.Fatalf("someone else's token %s was revoked", id)
		}
	}

	st, out := ada.postJSON(pathRevoke1, `{"token_id":"`+tokenID(laptop)+`"}`, nil)
	if st != 200 || out["revoked"] != true || out["token_id"] != tokenID(laptop) {
		t.Fatalf("revoking own laptop: %d %v", st, out)
	}
	if st, _, _ := ts.me(laptop["access_token"].(string)); st != http.StatusUnauthorized {
		t.Fatalf("revoked token: /v1/me %d, want 401", st)
	}
	if st, _, _ := ts.me(desktop["access_token"].(string)); st != 200 {
		t.Fatalf("the other device was revoked too: /v1/me %d", st)
	}
	row, _ := ts.Store().TokenByID(tokenID(laptop))
	if row.RevokedReason != "revoked by holder" {
		t.Errorf("revoked reason %q", row.RevokedReason)
	}
	// Form bodies work as well as JSON (the console accepts both).
	st, _, out = doWith(t, ada.http, "POST", ts.URL+pathRevoke1, form, "token_id="+tokenID(desktop), map[string]string{"X-CSRF-Token": ada.csrf})
	if st != 200 || out["revoked"] != true {
		t.Fatalf("form-encoded revoke: %d %v", st, out)
	}
	if _, body := ada.getJSON(pathDevices); len(listOf(t, body, "devices")) != 0 {
		t.Fatalf("devices after revoking both: %v", body)
	}
}

func TestMyDevicesRevokeAll(t *testing.T) {
	ts := startServer(t)
	ada := ts.signIn(testEmail, testPassword)
	laptop := ts.approvedToken(ada, "laptop")
	desktop := ts.approvedToken(ada, "desktop")
	sso := seedForeignToken(t, ts)
	other := otherMembersToken(t, ts)
	pendingDC, pendingUC := ts.startFlow("approved-not-polled")
	ada.approve(pendingUC)

	st, out := ada.postJSON(pathRevokeAll, `{}`, nil)
	if st != 200 || out["revoked"] != float64(2) || out["denied_codes"] != float64(1) {
		t.Fatalf("revoke-all: %d %v, want 2 revoked and 1 approved code denied", st, out)
	}
	for _, tok := range []map[string]any{laptop, desktop} {
		if st, _, _ := ts.me(tok["access_token"].(string)); st != http.StatusUnauthorized {
			t.Errorf("after revoke-all /v1/me %d, want 401", st)
		}
	}
	ts.clock.Advance(6 * time.Second)
	if st, body := ts.poll(pendingDC); st != 400 || body["error"] != "access_denied" {
		t.Errorf("an approved code polled after revoke-all: %d %v, want access_denied", st, body)
	}
	for _, id := range []string{sso, other} {
		if row, _ := ts.Store().TokenByID(id); !row.Live(ts.clock.Now()) {
			t.Errorf("revoke-all reached someone else's token %s", id)
		}
	}
	if st, out := ada.postJSON(pathRevokeAll, `{}`, nil); st != 200 || out["revoked"] != float64(0) {
		t.Fatalf("revoke-all with nothing left: %d %v, want 200 and 0", st, out)
	}
}

func TestMyDevicesRefusesMalformedBodies(t *testing.T) {
	ts := startServer(t)
	ada := ts.signIn(testEmail, testPassword)
	cases := []struct{ name, ct, body string }{
		{"wrong content type", "text/plain", `{"token_id":"x"}`},
		{"duplicated key", "application/json", `{"token_id":"a","token_id":"b"}`},
		{"nested JSON", "application/json", `{"token_id":{"a":"b"}}`},
		{"not JSON", "application/json", `{"token_id":`},
		{"1 MB body", "application/json", `{"token_id":"` + strings.Repeat("a", 1<<20) + `"}`},
	}
	for _, tc := range cases {
		st, h, out := doWith(t, ada.http, "POST", ts.URL+pathRevoke1, tc.ct, tc.body, map[string]string{"X-CSRF-Token": ada.csrf})
		if st < 400 || st > 499 || h.Get("Content-Type") != "application/json" || out["error"] == nil {
			t.Errorf("%s: %d %q %v, want a 4xx JSON error", tc.name, st, h.Get("Content-Type"), out)
		}
	}
	if st, _, _ := doWith(t, ada.http, "GET", ts.URL+pathRevoke1, "", "", nil); st != http.StatusMethodNotAllowed {
		t.Errorf("GET on the revoke route: %d, want 405", st)
	}
}

// ---- helpers ----

// getJSON does a GET with the browser's cookies.
func (b *browser) getJSON(path string) (int, map[string]any) {
	b.ts.t.Helper()
	st, _, out := doWith(b.ts.t, b.http, "GET", b.ts.URL+path, "", "", nil)
	return st, out
}

// postJSON posts a JSON body with the browser's cookies and CSRF token;
// hdr adds or overrides headers (an empty value removes one).
func (b *browser) postJSON(path, body string, hdr map[string]string) (int, map[string]any) {
	b.ts.t.Helper()
	h := map[string]string{"X-CSRF-Token": b.csrf}
	for k, v := range hdr {
		h[k] = v
	}
	if h["X-CSRF-Token"] == "" {
		delete(h, "X-CSRF-Token")
	}
	st, _, out := doWith(b.ts.t, b.http, "POST", b.ts.URL+path, "application/json", body, h)
	return st, out
}

func bearerOf(tok map[string]any) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok["access_token"].(string)}
}

func tokenID(tok map[string]any) string { return tok["token_id"].(string) }

const otherEmail = "grace@example.com"

// otherMembersToken gives a second local account a token and returns its id.
func otherMembersToken(t *testing.T, ts *testServer) string {
	t.Helper()
	if _, err := ts.Store().AccountByEmail(otherEmail); err != nil {
		if _, err := server.CreateAccount(ts.Store(), otherEmail, "Grace", "member", testPassword, []string{"default"}, cheapArgon2, ts.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	grace := ts.signIn(otherEmail, testPassword)
	return tokenID(ts.approvedToken(grace, "grace-laptop"))
}

// listOf returns body[key] as a list of objects.
func listOf(t *testing.T, body map[string]any, key string) []map[string]any {
	t.Helper()
	raw, ok := body[key].([]any)
	if !ok {
		t.Fatalf("%q is not a list in %v", key, body)
	}
	out := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			t.Fatalf("%q holds a non-object: %v", key, r)
		}
		out = append(out, m)
	}
	return out
}

func idsOf(rows []map[string]any) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		id, _ := r["id"].(string)
		out = append(out, id)
	}
	return out
}
