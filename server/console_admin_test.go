package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/server"
	"gatehouse/store"
)

// Admin view API: /console/api/admin/{tokens,revoke,audit,stats,daily},
// for accounts with the admin role only.

const (
	adminEmail    = "root@example.com"
	pathAdminTok  = "/console/api/admin/tokens"
	pathAdminRev  = "/console/api/admin/revoke"
	pathAdminAud  = "/console/api/admin/audit"
	pathAdminStat = "/console/api/admin/stats"
	pathAdminDay  = "/console/api/admin/daily"
	deployClient  = "deploy-bot"
)

func TestAdminAPIsAreForAdminsOnly(t *testing.T) {
	ts := startServer(t)
	member := ts.signIn(testEmail, testPassword)
	admin := ts.signInAdmin()
	tok := ts.approvedToken(member, "laptop")

	gets := []string{pathAdminTok, pathAdminAud, pathAdminStat, pathAdminDay}
	for _, path := range gets {
		if st, _, body := ts.do("GET", path, "", "", nil); st != http.StatusUnauthorized || body["error"] != "unauthenticated" {
			t.Errorf("GET %s signed out: %d %v, want 401", path, st, body)
		}
		if st, body := member.getJSON(path); st != http.StatusForbidden || body["error"] != "forbidden" {
			t.Errorf("GET %s as a member: %d %v, want 403 forbidden", path, st, body)
		}
		if st, body := admin.getJSON(path); st != 200 {
			t.Errorf("GET %s as an admin: %d %v", path, st, body)
		}
	}
	revoke := `{"token_id":"` + tokenID(tok) + `"}`
	if st, _, body := ts.do("POST", pathAdminRev, "application/json", revoke, nil); st != http.StatusUnauthorized {
		t.Errorf("revoke signed out: %d %v, want 401", st, body)
	}
	if st, body := member.postJSON(pathAdminRev, revoke, nil); st != http.StatusForbidden || body["error"] != "forbidden" {
		t.Errorf("revoke as a member with a good CSRF token: %d %v, want 403 forbidden", st, body)
	}
	if st, _, _ := ts.me(tok["access_token"].(string)); st != 200 {
		t.Fatal("a member's refused admin revoke revoked the token")
	}
}

func TestAdminTokensFilters(t *testing.T) {
	ts := startServer(t)
	admin := ts.signInAdmin()
	ada := ts.signIn(testEmail, testPassword)
	adaCLI := tokenID(ts.approvedToken(ada, "laptop"))
	adaSSO := seedForeignToken(t, ts)
	grace := otherMembersToken(t, ts)
	adaBot := ts.approvedTokenFor(ada, deployClient, "ci-runner")
	dead := ts.approvedToken(ada, "retired")
	if st, _, _ := ts.do("DELETE", "/v1/oauth/authorizations/self", "", "", bearerOf(dead)); st != 200 {
		t.Fatal("revoking retired")
	}

	tests := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"no filter lists every live token", nil, []string{adaCLI, adaSSO, grace, adaBot}},
		{"email, in any case, covers every issuer", url.Values{"email": {"ADA@example.com"}}, []string{adaCLI, adaSSO, adaBot}},
		{"email and issuer", url.Values{"email": {testEmail}, "issuer": {store.LocalIssuer}}, []string{adaCLI, adaBot}},
		{"SSO issuer", url.Values{"issuer": {"https://idp.example"}}, []string{adaSSO}},
		{"client", url.Values{"client": {deployClient}}, []string{adaBot}},
		{"client and email", url.Values{"client": {server.DefaultClientID}, "email": {otherEmail}}, []string{grace}},
		{"nothing matches", url.Values{"email": {"nobody@example.com"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, body := admin.getJSON(pathAdminTok + "?" + tc.query.Encode())
			if st != 200 {
				t.Fatalf("%d %v", st, body)
			}
			rows := listOf(t, body, "tokens")
			if !sameStrings(idsOf(rows), tc.want) {
				t.Fatalf("tokens %v, want %v", idsOf(rows), tc.want)
			}
			if body["total"] != float64(len(tc.want)) || body["truncated"] != false {
				t.Errorf("total %v truncated %v", body["total"], body["truncated"])
			}
			for _, r := range rows {
				if _, leaked := r["hash"]; leaked {
					t.Fatal("a token hash must never be listed")
				}
				if r["client_name"] == "" || r["subject_email"] == "" || r["subject_issuer"] == "" {
					t.Errorf("row lacks client name or subject: %v", r)
				}
			}
		})
	}
	_, body := admin.getJSON(pathAdminTok)
	clients := map[string]string{}
	for _, c := range listOf(t, body, "clients") {
		clients[c["id"].(string)] = c["name"].(string)
	}
	if clients[deployClient] != "Deploy bot" || clients[server.DefaultClientID] != "Gatehouse CLI" {
		t.Errorf("clients %v, want the registered clients with names", clients)
	}
	for _, bad := range []string{"?email=a&email=b", "?client=" + strings.Repeat("c", 255), "?%zz"} {
		if st, body := admin.getJSON(pathAdminTok + bad); st != 400 || body["error"] != "invalid_request" {
			t.Errorf("GET tokens%s: %d %v, want 400 invalid_request", shorten(bad), st, body)
		}
	}
}

func TestAdminRevokesAnyToken(t *testing.T) {
	ts := startServer(t)
	admin := ts.signInAdmin()
	ada := ts.signIn(testEmail, testPassword)
	tok := ts.approvedToken(ada, "laptop")
	body := `{"token_id":"` + tokenID(tok) + `"}`

	if st, out := admin.postJSON(pathAdminRev, body, map[string]string{"X-CSRF-Token": ""}); st != http.StatusForbidden || out["error"] != "csrf_failed" {
		t.Fatalf("admin revoke without CSRF token: %d %v, want 403 csrf_failed", st, out)
	}
	if st, out := admin.postJSON(pathAdminRev, body, map[string]string{"Origin": "https://evil.example"}); st != http.StatusForbidden {
		t.Fatalf("admin revoke from another origin: %d %v, want 403", st, out)
	}
	if st, out := admin.postJSON(pathAdminRev, `{"token_id":"tok_nope"}`, nil); st != http.StatusNotFound || out["error"] != "not_found" {
		t.Fatalf("unknown id: %d %v, want 404", st, out)
	}
	if st, out := admin.postJSON(pathAdminRev, `{}`, nil); st != 400 {
		t.Fatalf("no token_id: %d %v, want 400", st, out)
	}
	if st, out := admin.postJSON(pathAdminRev, body, nil); st != 200 || out["revoked"] != true {
		t.Fatalf("admin revoke: %d %v", st, out)
	}
	if st, _, _ := ts.me(tok["access_token"].(string)); st != http.StatusUnauthorized {
		t.Fatalf("revoked token: /v1/me %d, want 401", st)
	}
	if st, out := admin.postJSON(pathAdminRev, body, nil); st != 200 || out["revoked"] != false {
		t.Fatalf("revoking it again: %d %v, want 200 and revoked false", st, out)
	}
	_, audit := admin.getJSON(pathAdminAud + "?limit=5")
	found := false
	for _, ev := range listOf(t, audit, "events") {
		if ev["type"] == "token.revoked" && ev["token_id"] == tokenID(tok) {
			found = ev["actor"] == adminEmail && ev["detail"] == "admin"
		}
	}
	if !found {
		t.Fatalf("no token.revoked event naming the admin in %v", audit)
	}
}

func TestAdminAuditListsRecentEventsNewestFirst(t *testing.T) {
	ts := startServer(t)
	admin := ts.signInAdmin()
	for i := range 120 {
		if err := ts.Store().RecordEvent(store.Event{At: ts.clock.Now(), Type: "test.event", Detail: string(rune('a' + i%26))}); err != nil {
			t.Fatal(err)
		}
		ts.clock.Advance(time.Second)
	}
	_, body := admin.getJSON(pathAdminAud)
	evs := listOf(t, body, "events")
	if len(evs) != 100 {
		t.Fatalf("default limit: %d events, want 100", len(evs))
	}
	if a, b := evs[0]["seq"].(float64), evs[1]["seq"].(float64); a <= b {
		t.Fatalf("events not newest first: seq %v then %v", a, b)
	}
	if _, body := admin.getJSON(pathAdminAud + "?limit=3"); len(listOf(t, body, "events")) != 3 {
		t.Fatalf("limit=3: %v", body)
	}
	for _, bad := range []string{"0", "-1", "abc", "1001", "1e3"} {
		if st, body := admin.getJSON(pathAdminAud + "?limit=" + bad); st != 400 || body["error"] != "invalid_request" {
			t.Errorf("limit=%s: %d %v, want 400", bad, st, body)
		}
	}
}

func TestAdminStats(t *testing.T) {
	ts := startServer(t)
	admin := ts.signInAdmin()
	ada := ts.signIn(testEmail, testPassword)
	ts.approvedToken(ada, "laptop")
	st, body := admin.getJSON(pathAdminStat)
	if st != 200 {
		t.Fatalf("%d %v", st, body)
	}
	for field, atLeast := range map[string]float64{"file_bytes": 4096, "tokens": 1, "accounts": 3, "sessions": 2, "audit_events": 3} {
		if n, _ := body[field].(float64); n < atLeast {
			t.Errorf("%s = %v, want at least %v (all: %v)", field, body[field], atLeast, body)
		}
	}
	if _, ok := body["device_codes"].(float64); !ok {
		t.Errorf("device_codes missing: %v", body)
	}
}

func TestAdminDailyCountsTheLast30Days(t *testing.T) {
	ts := startServer(t)
	admin := ts.signInAdmin()
	ada := ts.signIn(testEmail, testPassword)
	now := ts.clock.Now()
	day := 24 * time.Hour
	seed := []struct {
		ago time.Duration
		typ string
	}{
		{30 * day, "device.approved"}, // outside the window: the 31st day back
		{29 * day, "device.approved"},
		{29 * day, "token.minted"},
		{3 * day, "device.denied"},
		{3 * day, "device.denied"},
		{3 * day, "signin.failed"}, // not charted
	}
	for _, s := range seed {
		if err := ts.Store().RecordEvent(store.Event{At: now.Add(-s.ago), Type: s.typ}); err != nil {
			t.Fatal(err)
		}
	}
	ts.approvedToken(ada, "laptop") // today: approved + minted
	ts.approvedToken(ada, "laptop") // today: approved + rotated

	st, body := admin.getJSON(pathAdminDay)
	if st != 200 {
		t.Fatalf("%d %v", st, body)
	}
	days := listOf(t, body, "days")
	if len(days) != 30 || body["time_zone"] != "UTC" {
		t.Fatalf("%d days in %v, want 30 in UTC", len(days), body["time_zone"])
	}
	key := func(ago time.Duration) string { return now.Add(-ago).UTC().Format(store.DayKeyLayout) }
	if days[0]["day"] != key(29*day) || days[29]["day"] != key(0) {
		t.Fatalf("days run %v..%v, want %s..%s", days[0]["day"], days[29]["day"], key(29*day), key(0))
	}
	want := map[string][3]float64{ // approved, denied, minted
		key(29 * day): {1, 0, 1},
		key(3 * day):  {0, 2, 0},
		key(0):        {2, 0, 2},
	}
	for _, d := range days {
		w := want[d["day"].(string)]
		got := [3]float64{d["approved"].(float64), d["denied"].(float64), d["minted"].(float64)}
		if got != w {
			t.Errorf("%s: approved, denied, minted = %v, want %v", d["day"], got, w)
		}
	}
}

// ---- helpers ----

// signInAdmin creates adminEmail with the admin role (once) and signs in.
func (ts *testServer) signInAdmin() *browser {
	ts.t.Helper()
	if _, err := ts.Store().AccountByEmail(adminEmail); err != nil {
		if _, err := server.CreateAccount(ts.Store(), adminEmail, "Root", "admin", testPassword, []string{"default"}, cheapArgon2, ts.clock.Now()); err != nil {
			ts.t.Fatal(err)
		}
	}
	return ts.signIn(adminEmail, testPassword)
}

// approvedTokenFor runs a whole flow for another registered client
// (registering it as "Deploy bot" first) and returns the poll's body.
func (ts *testServer) approvedTokenFor(b *browser, client, label string) string {
	ts.t.Helper()
	if _, err := ts.Store().Client(client); err != nil {
		if err := ts.Store().PutClient(store.Client{ID: client, Name: "Deploy bot", CreatedAt: ts.clock.Now()}); err != nil {
			ts.t.Fatal(err)
		}
	}
	st, _, body := ts.do("POST", "/v1/oauth/device/code", form, url.Values{"client_id": {client}, "device_label": {label}}.Encode(), nil)
	if st != 200 {
		ts.t.Fatalf("device/code for %s: %d %v", client, st, body)
	}
	b.approve(body["user_code"].(string))
	ts.clock.Advance(6 * time.Second)
	v := url.Values{"client_id": {client}, "device_code": {body["device_code"].(string)}, "grant_type": {server.DeviceGrantType}}
	st, _, tok := ts.do("POST", "/v1/oauth/device/token", form, v.Encode(), nil)
	if st != 200 {
		ts.t.Fatalf("poll for %s: %d %v", client, st, tok)
	}
	return tokenID(tok)
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		if seen[x] == 0 {
			return false
		}
		seen[x]--
	}
	return true
}
