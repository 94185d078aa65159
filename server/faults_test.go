package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"testing"
	"time"

	"gatehouse/server"
	"gatehouse/store"
)

// TestDiskFaultAnswers503AndRecovers: while the disk refuses writes, every
// request that needs one answers 503 temporarily_unavailable with
// Retry-After and changes nothing; reads, lookups, pending polls and bearer
// checks go on; when the disk takes writes again, the same running server
// serves them, and every refused request, retried, does what it should
// have: no approval, token or revocation is lost or half made.
//
// The fault is real and needs no privilege: a file size limit below the
// data file's size (RLIMIT_FSIZE; Go ignores SIGXFSZ) makes every page
// write fail with EFBIG, as a read-only or failing disk would, while the
// memory-mapped reads go on. Tests in this package do not run in parallel,
// so nothing else in the process writes files meanwhile.
func TestDiskFaultAnswers503AndRecovers(t *testing.T) {
	ts := startServer(t, func(c *server.Config) {
		c.Limits = server.DefaultLimits(c.DeviceCodeTTL, 1000)
		if err := c.Limits.Override("device_code=off"); err != nil {
			t.Fatal(err)
		}
	})
	b := ts.signIn(testEmail, testPassword)
	tokens := []string{ts.approvedToken(b, "t0")["access_token"].(string), ts.approvedToken(b, "t1")["access_token"].(string)}
	pendingDC, pendingUC := ts.startFlow("pending")
	approvedDC, approvedUC := ts.startFlow("approved")
	b.approve(approvedUC)
	ts.clock.Advance(6 * time.Second)

	lift := limitFileSize(t, 8192) // below every data page: all page writes fail
	refused := func(what string, st int, h http.Header, body map[string]any) {
		t.Helper()
		if st != 503 || body["error"] != "temporarily_unavailable" || body["error_description"] == "" {
			t.Errorf("%s while the disk refuses writes: %d %v, want 503 temporarily_unavailable", what, st, body)
		}
		if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra <= 0 {
			t.Errorf("%s: Retry-After %q", what, h.Get("Retry-After"))
		}
	}
	v := url.Values{"client_id": {server.DefaultClientID}, "device_label": {"new"}}
	st, h, body := ts.do("POST", "/v1/oauth/device/code", form, v.Encode(), nil)
	refused("starting a flow", st, h, body)
	st, h, body = doWith(t, b.http, "POST", ts.URL+"/console/api/oauth/device/approve", "application/json",
		`{"user_code":"`+pendingUC+`"}`, map[string]string{"X-CSRF-Token": b.csrf})
	refused("approving", st, h, body)
	st, h, body = ts.do("POST", "/v1/oauth/device/token", form, url.Values{"client_id": {server.DefaultClientID},
		"device_code": {approvedDC}, "grant_type": {server.DeviceGrantType}}.Encode(), nil)
	refused("the poll that would mint", st, h, body)
	st, h, body = ts.do("DELETE", "/v1/oauth/authorizations/self", "", "", map[string]string{"Authorization": "Bearer " + tokens[1]})
	refused("revoking", st, h, body)

	// Reads go on.
	for i, tok := range tokens {
		if st, _, _ := ts.me(tok); st != 200 {
			t.Errorf("bearer check of token %d during the fault: %d", i, st)
		}
	}
	if st, body := ts.poll(pendingDC); body["error"] != "authorization_pending" {
		t.Errorf("pending poll during the fault: %d %v", st, body)
	}
	if st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code="+url.QueryEscape(pendingUC), "", "", nil); st != 200 || body["valid"] != true {
		t.Errorf("lookup during the fault: %d %v", st, body)
	}
	if st, _, _ := ts.do("GET", "/v1/oauth/authorizations", "", "", map[string]string{"Authorization": "Bearer " + tokens[0]}); st != 200 {
		t.Errorf("listing authorizations during the fault: %d", st)
	}

	if st, _, body := ts.do("GET", "/readyz", "", "", nil); st != 503 {
		t.Errorf("/readyz while writes are refused: %d %v, want 503", st, body)
	}

	lift()
	// Nothing of the refused requests was written...
	if st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code="+url.QueryEscape(pendingUC), "", "", nil); st != 200 || body["valid"] != true {
		t.Errorf("the refused approval left a mark: lookup %d %v", st, body)
	}
	if st, _, _ := ts.me(tokens[1]); st != 200 {
		t.Errorf("the refused revocation revoked: %d", st)
	}
	if rows, _ := ts.Store().ListTokens(store.TokenFilter{Now: ts.clock.Now()}); len(rows) != 2 {
		t.Errorf("%d live token rows after the refused mint, want 2", len(rows))
	}
	// ...and retried, each does what it should, on the same server.
	st, _, body = ts.do("POST", "/v1/oauth/device/code", form, v.Encode(), nil)
	if st != 200 {
		t.Errorf("starting a flow after the fault: %d %v", st, body)
	}
	b.approve(pendingUC)
	if st, body := ts.poll(approvedDC); st != 200 {
		t.Errorf("the approval refused a mint during the fault must still yield its token: %d %v", st, body)
	}
	if st, _, body := ts.do("DELETE", "/v1/oauth/authorizations/self", "", "", map[string]string{"Authorization": "Bearer " + tokens[1]}); st != 200 {
		t.Errorf("revoking after the fault: %d %v", st, body)
	}
	if st, _, _ := ts.me(tokens[1]); st != 401 {
		t.Errorf("revoked after the fault: %d", st)
	}
	if err := ts.Store().Check(); err != nil {
		t.Errorf("store check after the fault: %v", err)
	}
	// Ready again once writes succeed (the probe's answer is cached for a
	// second of wall time).
	deadline := time.Now().Add(3 * time.Second)
	for st, _, body := ts.do("GET", "/readyz", "", "", nil); st != 200; st, _, body = ts.do("GET", "/readyz", "", "", nil) {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after the fault: %d %v, want 200", st, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// limitFileSize makes writes at or past size fail with EFBIG in this
// process until the returned func (or the test's cleanup) lifts it.
func limitFileSize(t *testing.T, size uint64) func() {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: size, Max: old.Max}); err != nil {
		t.Fatal(fmt.Errorf("set RLIMIT_FSIZE: %w", err))
	}
	lifted := false
	lift := func() {
		if !lifted {
			lifted = true
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(lift)
	return lift
}
