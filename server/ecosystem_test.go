package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"gatehouse/server"
	"gatehouse/tokens"
)

func TestMetadataDescribesEveryEndpoint(t *testing.T) {
	ts := startServer(t)
	st, h, md := ts.do("GET", "/.well-known/oauth-authorization-server", "", "", nil)
	if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("metadata: %d %v", st, h)
	}
	want := map[string]any{
		"issuer":                                        ts.URL,
		"device_authorization_endpoint":                 ts.URL + "/v1/oauth/device/code",
		"token_endpoint":                                ts.URL + "/v1/oauth/device/token",
		"revocation_endpoint":                           ts.URL + "/v1/oauth/revoke",
		"introspection_endpoint":                        ts.URL + "/v1/oauth/introspect",
		"grant_types_supported":                         []any{server.DeviceGrantType},
		"response_types_supported":                      []any{},
		"scopes_supported":                              []any{"full", "apps:run"},
		"token_endpoint_auth_methods_supported":         []any{"none"},
		"introspection_endpoint_auth_methods_supported": []any{"client_secret_basic"},
		"service_documentation":                         ts.URL + "/device",
	}
	for k, v := range want {
		if !reflect.DeepEqual(md[k], v) {
			t.Errorf("%s = %#v, want %#v", k, md[k], v)
		}
	}
}

// token runs a whole flow and returns the access token and its id.
func (ts *testServer) token(label string) (string, string) {
	ts.t.Helper()
	body := ts.approvedToken(ts.signIn(testEmail, testPassword), label)
	return body["access_token"].(string), body["token_id"].(string)
}

func (ts *testServer) revoke(v url.Values) (int, map[string]any) {
	ts.t.Helper()
	st, _, body := ts.do("POST", "/v1/oauth/revoke", form, v.Encode(), nil)
	return st, body
}

func TestRevocation(t *testing.T) {
	ts := startServer(t)
	tok, _ := ts.token("laptop")
	cases := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"unknown token", url.Values{"token": {"dfoa_" + strings.Repeat("A", 43)}}, 200, ""},
		{"junk token with a hint", url.Values{"token": {"junk"}, "token_type_hint": {"refresh_token"}}, 200, ""},
		{"missing token", url.Values{"token_type_hint": {"access_token"}}, 400, "invalid_request"},
		{"unregistered client_id", url.Values{"token": {"junk"}, "client_id": {"nobody"}}, 400, "invalid_client"},
		{"live token with its client_id", url.Values{"token": {tok}, "client_id": {server.DefaultClientID}}, 200, ""},
		{"the same token again (now revoked)", url.Values{"token": {tok}}, 200, ""},
	}
	for _, c := range cases {
		st, body := ts.revoke(c.form)
		if st != c.status || (c.code != "" && body["error"] != c.code) || (c.code == "" && len(body) != 0) {
			t.Errorf("%s: %d %v, want %d %q", c.name, st, body, c.status, c.code)
		}
	}
	if st, _, _ := ts.me(tok); st != 401 {
		t.Fatalf("revoked token still works: %d", st)
	}
	st, _, body := ts.do("POST", "/v1/oauth/revoke", form, "token=a&token=b", nil)
	if st != 400 || body["error"] != "invalid_request" {
		t.Fatalf("duplicate token parameter: %d %v", st, body)
	}
}

// TestRevocationUnknownAndRevokedLookAlike: the two answers are identical
// and both cost exactly one read transaction and no write, so neither
// status nor work tells a guessed value from a revoked one.
func TestRevocationUnknownAndRevokedLookAlike(t *testing.T) {
	ts := startServer(t)
	tok, _ := ts.token("laptop")
	if st, _ := ts.revoke(url.Values{"token": {tok}}); st != 200 {
		t.Fatal(st)
	}
	work := func(value string) (int, string, int) {
		before := ts.Store().DB().Stats()
		resp, err := http.PostForm(ts.URL+"/v1/oauth/revoke", url.Values{"token": {value}})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		after := ts.Store().DB().Stats()
		return resp.StatusCode, string(raw), after.TxN - before.TxN
	}
	unknownSt, unknownBody, unknownReads := work("dfoa_" + strings.Repeat("B", 43))
	revokedSt, revokedBody, revokedReads := work(tok)
	if unknownSt != revokedSt || unknownBody != revokedBody {
		t.Fatalf("unknown %d %q vs revoked %d %q", unknownSt, unknownBody, revokedSt, revokedBody)
	}
	if unknownReads != 1 || revokedReads != 1 {
		t.Fatalf("read transactions: unknown %d, revoked %d; want 1 each", unknownReads, revokedReads)
	}
}

// addResource registers a resource server through the running server's
// admin socket, as `gatehouse resource add` does, and returns its secret.
func (ts *testServer) addResource(name string) string {
	ts.t.Helper()
	secret, err := server.NewResourceSecret()
	if err != nil {
		ts.t.Fatal(err)
	}
	h, _ := tokens.HashOf(secret).MarshalText()
	err = server.Admin{DataDir: ts.DataDir()}.Call(context.Background(), "resource.add",
		server.ResourceRequest{Name: name, SecretHash: string(h)}, nil)
	if err != nil {
		ts.t.Fatalf("resource.add: %v", err)
	}
	return secret
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(user)+":"+url.QueryEscape(pass)))
}

// introspect returns status, headers, raw body and decoded body.
func (ts *testServer) introspect(auth, token string) (int, http.Header, string, map[string]any) {
	ts.t.Helper()
	req, _ := http.NewRequest("POST", ts.URL+"/v1/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", form)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	st, h, body := resp.StatusCode, resp.Header, map[string]any(nil)
	if strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &body); err != nil {
			ts.t.Fatalf("introspect: body is not JSON: %q", raw)
		}
	}
	return st, h, string(raw), body
}

func TestIntrospectionAuthenticatesResourceServers(t *testing.T) {
	ts := startServer(t)
	secret := ts.addResource("api.billing")
	tok, _ := ts.token("laptop")
	cases := []struct{ name, auth string }{
		{"no credentials", ""},
		{"bearer instead of basic", "Bearer " + tok},
		{"wrong secret", basic("api.billing", secret+"x")},
		{"unknown name", basic("api.other", secret)},
		{"empty secret", basic("api.billing", "")},
	}
	for _, c := range cases {
		st, h, _, body := ts.introspect(c.auth, tok)
		if st != 401 || body["error"] != "invalid_client" || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: %d %v %q", c.name, st, body, h.Get("WWW-Authenticate"))
		}
	}
	// RFC 6749 §2.3.1: the credentials are form-encoded before base64.
	raw := "Basic " + base64.StdEncoding.EncodeToString([]byte("api%2Ebilling:"+url.QueryEscape(secret)))
	if st, _, _, body := ts.introspect(raw, tok); st != 200 || body["active"] != true {
		t.Fatalf("form-encoded credentials: %d %v", st, body)
	}
}

// TestIntrospectionWrongCredentialsAreLimited: wrong resource-server
// credentials spend a per-IP budget (20 at once); past it the caller gets
// 429 with Retry-After, even with the right secret, until it refills.
func TestIntrospectionWrongCredentialsAreLimited(t *testing.T) {
	ts := startServer(t)
	secret := ts.addResource("api.billing")
	tok, _ := ts.token("laptop")
	auth := basic("api.billing", secret)
	for i := 0; i < 30; i++ { // right credentials spend nothing
		if st, _, _, body := ts.introspect(auth, tok); st != 200 || body["active"] != true {
			t.Fatalf("introspection %d with the right secret: %d %v", i, st, body)
		}
	}
	burst := server.DefaultLimits(15*time.Minute, 1000).IntrospectAuth.Burst
	for i := 0; i < burst; i++ {
		if st, _, _, body := ts.introspect(basic("api.billing", "guess"), tok); st != 401 || body["error"] != "invalid_client" {
			t.Fatalf("wrong secret %d: %d %v, want 401 invalid_client", i, st, body)
		}
	}
	st, h, _, body := ts.introspect(basic("api.billing", "guess"), tok)
	if st != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("wrong secret past the budget: %d %v (Retry-After %q), want 429 with Retry-After", st, body, h.Get("Retry-After"))
	}
	if st, _, _, _ := ts.introspect(auth, tok); st != 429 {
		t.Fatalf("right secret from the refused address: %d, want 429 until the budget refills", st)
	}
}

func TestIntrospectionAnswers(t *testing.T) {
	ts := startServer(t)
	auth := basic("wiki", ts.addResource("wiki"))
	tok, id := ts.token("laptop")
	st, _, _, body := ts.introspect(auth, tok)
	row, _ := ts.Store().TokenByID(id)
	want := map[string]any{"active": true, "scope": "full", "client_id": server.DefaultClientID,
		"sub": row.AccountID, "username": testEmail, "token_type": "Bearer",
		"exp": float64(row.ExpiresAt.Unix()), "iat": float64(row.CreatedAt.Unix()), "jti": id, "iss": ts.URL,
		"subject_type": "account", "subject_issuer": "gatehouse:local"}
	if st != 200 || !reflect.DeepEqual(body, want) {
		t.Fatalf("active answer: %d\n got %v\nwant %v", st, body, want)
	}
	if !strings.HasPrefix(row.AccountID, "acc_") {
		t.Fatalf("account token's sub should be its account id, got %q", row.AccountID)
	}
	inactive := map[string]string{
		"unknown":   "dfoa_" + strings.Repeat("C", 43),
		"malformed": "not-a-token",
	}
	for name, v := range inactive {
		if st, _, raw, _ := ts.introspect(auth, v); st != 200 || raw != `{"active":false}`+"\n" {
			t.Errorf("%s token: %d %q", name, st, raw)
		}
	}
	ts.revoke(url.Values{"token": {tok}})
	if st, _, raw, _ := ts.introspect(auth, tok); st != 200 || raw != `{"active":false}`+"\n" {
		t.Fatalf("revoked token: %d %q", st, raw)
	}
}

func TestIntrospectionOfExpiredTokenIsInactiveAndHardExpires(t *testing.T) {
	ts := startServer(t)
	auth := basic("wiki", ts.addResource("wiki"))
	tok, id := ts.token("laptop")
	ts.clock.Advance(15 * 24 * time.Hour)
	if st, _, raw, _ := ts.introspect(auth, tok); st != 200 || raw != `{"active":false}`+"\n" {
		t.Fatalf("expired token: %d %q", st, raw)
	}
	if row, _ := ts.Store().TokenByID(id); row.RevokedReason != "expired" {
		t.Fatalf("expired token presented for introspection was not hard-expired: %+v", row)
	}
}

// TestIntrospectionRecordsTheResourceServer: the write is batched off the
// request path and lands by shutdown at the latest.
func TestIntrospectionRecordsTheResourceServer(t *testing.T) {
	ts := startServer(t)
	auth := basic("billing", ts.addResource("billing"))
	tok, id := ts.token("laptop")
	if st, _, _, _ := ts.introspect(auth, tok); st != 200 {
		t.Fatal(st)
	}
	if row, _ := ts.Store().TokenByID(id); row.LastSeenBy != "" {
		t.Fatalf("last_seen_by written on the request path: %+v", row)
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	var list []server.TokenInfo
	if err := (server.Admin{DataDir: ts.DataDir()}).Call(context.Background(), "tokens.list", server.TokenListRequest{IncludeDead: true}, &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].LastSeenBy != "billing" || list[0].LastUsedAt.IsZero() {
		t.Fatalf("tokens list after shutdown: %+v", list)
	}
}

func (ts *testServer) verify(query, token string, method string) (int, http.Header) {
	ts.t.Helper()
	req, _ := http.NewRequest(method, ts.URL+"/v1/auth/verify"+query, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func TestForwardAuthVerify(t *testing.T) {
	ts := startServer(t)
	tok, id := ts.token("laptop")
	row, _ := ts.Store().TokenByID(id)
	for _, method := range []string{"GET", "HEAD"} {
		st, h := ts.verify("", tok, method)
		got := []string{h.Get("X-Auth-Subject"), h.Get("X-Auth-Email"), h.Get("X-Auth-Scopes"), h.Get("X-Auth-Token-Id")}
		if want := []string{row.AccountID, testEmail, "full", id}; st != 200 || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s valid token: %d %v, want %v", method, st, got, want)
		}
	}
	cases := []struct {
		name, query, token string
		status             int
		challenge          string
	}{
		{"held scope", "?scope=full", tok, 200, ""},
		{"missing scope", "?scope=apps:run", tok, 403, `error="insufficient_scope"`},
		{"one of two scopes missing", "?scope=full+apps:run", tok, 403, `error="insufficient_scope"`},
		{"no token", "", "", 401, `Bearer realm="gatehouse"`},
		{"junk token", "", "junk", 401, `error="invalid_token"`},
	}
	for _, c := range cases {
		st, h := ts.verify(c.query, c.token, "GET")
		if st != c.status || !strings.Contains(h.Get("WWW-Authenticate"), c.challenge) {
			t.Errorf("%s: %d %q, want %d %q", c.name, st, h.Get("WWW-Authenticate"), c.status, c.challenge)
		}
		if st != 200 && h.Get("X-Auth-Email") != "" {
			t.Errorf("%s: refused answer carries X-Auth-Email", c.name)
		}
	}
	ts.revoke(url.Values{"token": {tok}})
	if st, h := ts.verify("", tok, "GET"); st != 401 || !strings.Contains(h.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("revoked token: %d %v", st, h)
	}
}
