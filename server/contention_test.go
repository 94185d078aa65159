package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/server"
	"gatehouse/store"
)

// TestExactlyOnceUnderContention: 200 pollers on 50 codes, approvals racing
// the polls, re-logins on shared devices (rotation in place) racing
// revocations of the tokens they replace, and prune running through the
// admin socket all along. Every code yields exactly one token, each token
// that was not revoked works, a revoked or rotated-out token never does,
// rotation never revives or kills the wrong token, and no request takes
// longer than 5 s (the watchdog dumps every goroutine if one does: a
// deadlock, a nested transaction, a lost wake-up). Run it with -race.
//
// Pacing is real: the injected clock moves on in ticks, and each poller
// polls once per tick, as an RFC 8628 client waits its interval, so the
// pollers of one code hit the server together on every tick.
func TestExactlyOnceUnderContention(t *testing.T) {
	const (
		codes      = 50
		pollers    = 200
		devices    = 4 // shared labels that rotate in place
		tickStep   = 5 * time.Minute
		tickPeriod = 250 * time.Millisecond
		maxTicks   = 130 // 130 × 5 min stays inside the 12 h console session
	)
	ts := startServer(t, func(c *server.Config) {
		c.DeviceCodeTTL, c.PollInterval = 24*time.Hour, 5*time.Second
		c.Limits = server.DefaultLimits(c.DeviceCodeTTL, 1000)
		for _, l := range []string{"device_code=off", "approve_account=off", "approve_session=off"} {
			if err := c.Limits.Override(l); err != nil {
				t.Fatal(err)
			}
		}
	})
	b := ts.signIn(testEmail, testPassword)
	rc := &raceClient{ts: ts, wd: newWatchdog(t), b: b}
	ticks := &ticker{ch: make(chan struct{}), over: make(chan struct{})}

	flows := make([]raceFlow, codes)
	for i := range flows {
		flows[i].device, flows[i].user = ts.startFlow(fmt.Sprintf("box-%d", i))
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	goBG := func(f func()) { bg.Add(1); go func() { defer bg.Done(); f() }() }
	goBG(func() { rc.wd.run(stop) })
	goBG(func() { ticks.run(stop, ts.clock, tickStep, tickPeriod, maxTicks) })
	goBG(func() { rc.pruneLoop(stop) })

	var work sync.WaitGroup
	goWork := func(f func()) { work.Add(1); go func() { defer work.Done(); f() }() }
	for a := 0; a < 10; a++ { // approvers, racing the first polls
		goWork(func() {
			for i := a; i < codes; i += 10 {
				time.Sleep(time.Duration(rand.Intn(30)) * time.Millisecond)
				if st, body, err := rc.resolve("approve", flows[i].user); err != nil || st != 200 {
					t.Errorf("approve %d: %d %v %v", i, st, body, err)
				}
			}
		})
	}
	for p := 0; p < pollers; p++ {
		goWork(func() { rc.pollUntilDone(&flows[p%codes], ticks) })
	}
	rot := make([]*rotation, devices)
	for d := range rot {
		rot[d] = &rotation{label: fmt.Sprintf("shared-%d", d), finished: make(chan struct{}),
			revoked: map[string]bool{}, presented: map[string]bool{}}
		goWork(func() { rc.relogins(rot[d], 4, ticks) })
		goWork(func() { rc.revokeReplaced(rot[d]) })
	}
	work.Wait()
	close(stop)
	bg.Wait()
	if t.Failed() {
		return
	}

	for i := range flows {
		f := &flows[i]
		if n := len(f.tokens()); n != 1 {
			t.Errorf("code %d yielded %d tokens, want exactly 1 (a poll found it spent: %v)", i, n, f.spent)
			continue
		}
		if st, _, err := rc.me(f.tokens()[0]); err != nil || st != 200 {
			t.Errorf("token of code %d: /v1/me %d %v", i, st, err)
		}
	}
	for _, r := range rot {
		r.check(t, rc)
	}
	if err := ts.Store().Check(); err != nil {
		t.Errorf("store check: %v", err)
	}
	t.Logf("ticks %d, polls %d (slow_down %d), requests %d, longest %v (%s), prunes %d, rotations %d, revocations %d, re-logins denied by a revoke %d",
		ticks.n.Load(), rc.polls.Load(), rc.slowDowns.Load(), rc.wd.total.Load(), time.Duration(rc.wd.longest.Load()), rc.wd.longestOp, rc.prunes.Load(),
		rc.rotations.Load(), rc.revocations.Load(), rc.deniedRelogins.Load())
}

// raceFlow is one code and what its pollers got.
type raceFlow struct {
	device, user string
	mu           sync.Mutex
	got          []string
	done, spent  bool
	// mayBeDenied: a re-login whose device's live token may be revoked
	// between approval and poll; the store then denies the approved code
	// (a revoked token is never handed out again through rotation).
	mayBeDenied, denied bool
}

func (f *raceFlow) tokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

// ticker advances the injected clock in steps and wakes every poller
// waiting for the next tick; over closes when the ticks run out. A tick
// comes once every live poller waits for it (but not before period/6, so
// approvals keep up, and after period at most): the pollers of each tick hit
// the server together, not as a backlog.
type ticker struct {
	n             atomic.Int64
	live, waiting atomic.Int64
	mu            sync.Mutex
	ch            chan struct{}
	over          chan struct{}
}

func (tk *ticker) next() <-chan struct{} {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.ch
}

func (tk *ticker) run(stop <-chan struct{}, c *clock, step, period time.Duration, limit int) {
	for i := 0; i < limit; i++ {
		for start := time.Now(); time.Since(start) < period; {
			if w := tk.waiting.Load(); w > 0 && w >= tk.live.Load() && time.Since(start) >= period/6 {
				break
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
		c.Advance(step)
		tk.n.Add(1)
		tk.mu.Lock()
		close(tk.ch)
		tk.ch = make(chan struct{})
		tk.mu.Unlock()
	}
	close(tk.over)
	<-stop
}

// pollUntilDone polls once per tick until someone got the token (or the
// ticks run out: the final count then tells).
func (rc *raceClient) pollUntilDone(f *raceFlow, ticks *ticker) {
	ticks.live.Add(1)
	defer ticks.live.Add(-1)
	for {
		f.mu.Lock()
		done := f.done
		f.mu.Unlock()
		if done {
			return
		}
		tick := ticks.next()
		st, body, err := rc.poll(f.device)
		switch {
		case err != nil:
			rc.wd.t.Errorf("poll: %v", err)
			return
		case st == 200:
			f.mu.Lock()
			f.got, f.done = append(f.got, body["access_token"].(string)), true
			f.mu.Unlock()
			return
		case body["error"] == "access_denied" && f.mayBeDenied:
			f.mu.Lock()
			f.done, f.denied = true, true
			f.mu.Unlock()
			return
		case body["error"] == "invalid_grant":
			f.mu.Lock()
			f.done, f.spent = true, true // another poller consumed it; the count is checked at the end
			f.mu.Unlock()
			return
		case body["error"] != "authorization_pending" && body["error"] != "slow_down":
			rc.wd.t.Errorf("poll answered %d %v", st, body)
			return
		}
		ticks.waiting.Add(1)
		select {
		case <-tick:
		case <-ticks.over:
		}
		ticks.waiting.Add(-1)
		select {
		case <-ticks.over:
			return
		default:
		}
	}
}

// rotation is one device (subject, client, label) signing in again and
// again while its replaced tokens are revoked.
type rotation struct {
	label     string
	finished  chan struct{} // closed when the device stops signing in
	mu        sync.Mutex
	delivered []string        // in delivery order; one device, so one at a time
	revoked   map[string]bool // tokens whose own DELETE self was acknowledged
	presented map[string]bool // tokens a DELETE self was sent with
}

// relogins runs n flows on the shared label, one after the other.
func (rc *raceClient) relogins(r *rotation, n int, ticks *ticker) {
	defer close(r.finished)
	for i := 0; i < n; i++ {
		dc, uc, err := rc.startFlow(r.label)
		if err != nil {
			rc.wd.t.Errorf("rotation flow: %v", err)
			return
		}
		if st, body, err := rc.resolve("approve", uc); err != nil || st != 200 {
			rc.wd.t.Errorf("rotation approve: %d %v %v", st, body, err)
			return
		}
		r.mu.Lock()
		live := ""
		if n := len(r.delivered); n > 0 {
			live = r.delivered[n-1]
		}
		r.mu.Unlock()
		f := &raceFlow{device: dc, mayBeDenied: true}
		rc.pollUntilDone(f, ticks)
		if f.denied {
			r.mu.Lock()
			wasRevoked := live != "" && r.presented[live]
			r.mu.Unlock()
			if !wasRevoked {
				rc.wd.t.Errorf("%s: approved re-login denied though the device's live token was never revoked", r.label)
				return
			}
			rc.deniedRelogins.Add(1)
			continue // the next re-login starts from a device with no live token
		}
		got := f.tokens()
		if len(got) != 1 {
			return // stopped, or reported
		}
		r.mu.Lock()
		r.delivered = append(r.delivered, got[0])
		r.mu.Unlock()
		rc.rotations.Add(1)
	}
}

// revokeReplaced keeps revoking the device's older tokens with DELETE
// self, racing the next rotation; sometimes it revokes the newest one.
func (rc *raceClient) revokeReplaced(r *rotation) {
	for {
		select {
		case <-r.finished:
			return
		case <-time.After(time.Duration(5+rand.Intn(20)) * time.Millisecond):
		}
		r.mu.Lock()
		n := len(r.delivered)
		if n == 0 {
			r.mu.Unlock()
			continue
		}
		tok := r.delivered[rand.Intn(n)]
		r.presented[tok] = true
		r.mu.Unlock()
		st, body, err := rc.do("DELETE", "/v1/oauth/authorizations/self", "", "", map[string]string{"Authorization": "Bearer " + tok})
		switch {
		case err != nil:
			rc.wd.t.Errorf("revoke self: %v", err)
			return
		case st == 200 && body["revoked"] == true:
			r.mu.Lock()
			r.revoked[tok] = true
			r.mu.Unlock()
			rc.revocations.Add(1)
		case st == 401 || st == 404: // already rotated out or revoked
		default:
			rc.wd.t.Errorf("revoke self answered %d %v", st, body)
		}
	}
}

// check: every token but the newest is dead (rotated out or revoked); the
// newest works unless a DELETE self was sent with it.
func (r *rotation) check(t *testing.T, rc *raceClient) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, tok := range r.delivered {
		st, _, err := rc.me(tok)
		if err != nil {
			t.Errorf("%s: %v", r.label, err)
			continue
		}
		newest := i == len(r.delivered)-1
		switch {
		case r.revoked[tok] && st != 401:
			t.Errorf("%s: token %d was revoked (acknowledged) but answers %d", r.label, i, st)
		case !newest && st != 401:
			t.Errorf("%s: token %d was rotated out but answers %d", r.label, i, st)
		case newest && !r.presented[tok] && st != 200:
			t.Errorf("%s: the newest token answers %d though only older tokens were revoked: revoking a replaced token killed its successor", r.label, st)
		}
	}
}

// raceClient makes requests from many goroutines (no t.Fatal off the test
// goroutine) under the watchdog's eye.
type raceClient struct {
	ts                       *testServer
	wd                       *watchdog
	b                        *browser
	polls, slowDowns, prunes atomic.Int64
	rotations, revocations   atomic.Int64
	deniedRelogins           atomic.Int64
}

var raceHTTP = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

func (rc *raceClient) do(method, path, ctype, body string, hdr map[string]string) (int, map[string]any, error) {
	return rc.doWith(raceHTTP, method, path, ctype, body, hdr)
}

func (rc *raceClient) doWith(c *http.Client, method, path, ctype, body string, hdr map[string]string) (int, map[string]any, error) {
	defer rc.wd.begin(method + " " + path)()
	req, err := http.NewRequest(method, rc.ts.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s %s: %d, body not JSON: %q", method, path, resp.StatusCode, raw)
		}
	}
	if resp.StatusCode >= 500 {
		return resp.StatusCode, out, fmt.Errorf("%s %s answered %d %v", method, path, resp.StatusCode, out)
	}
	return resp.StatusCode, out, nil
}

func (rc *raceClient) poll(device string) (int, map[string]any, error) {
	v := url.Values{"client_id": {server.DefaultClientID}, "device_code": {device}, "grant_type": {server.DeviceGrantType}}
	st, body, err := rc.do("POST", "/v1/oauth/device/token", form, v.Encode(), nil)
	rc.polls.Add(1)
	if body["error"] == "slow_down" {
		rc.slowDowns.Add(1)
	}
	return st, body, err
}

func (rc *raceClient) startFlow(label string) (string, string, error) {
	v := url.Values{"client_id": {server.DefaultClientID}, "device_label": {label}}
	st, body, err := rc.do("POST", "/v1/oauth/device/code", form, v.Encode(), nil)
	if err != nil || st != 200 {
		return "", "", fmt.Errorf("device/code: %d %v %v", st, body, err)
	}
	return body["device_code"].(string), body["user_code"].(string), nil
}

func (rc *raceClient) resolve(action, userCode string) (int, map[string]any, error) {
	return rc.doWith(rc.b.http, "POST", "/console/api/oauth/device/"+action, "application/json",
		`{"user_code":"`+userCode+`"}`, map[string]string{"X-CSRF-Token": rc.b.csrf})
}

func (rc *raceClient) me(tok string) (int, map[string]any, error) {
	return rc.do("GET", "/v1/me", "", "", map[string]string{"Authorization": "Bearer " + tok})
}

// pruneLoop prunes through the admin socket, as `gatehouse prune` does,
// with a retention short enough to delete the revoked rows as they come.
func (rc *raceClient) pruneLoop(stop <-chan struct{}) {
	admin := server.Admin{DataDir: rc.ts.DataDir()}
	for {
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		done := rc.wd.begin("admin prune")
		var res store.PruneCounts
		err := admin.Call(context.Background(), "prune", server.PruneRequest{Retention: time.Minute, AuditRetention: time.Hour}, &res)
		done()
		if err != nil {
			rc.wd.t.Errorf("prune: %v", err)
			return
		}
		rc.prunes.Add(1)
	}
}

// watchdog fails the test, with every goroutine's stack, when a request
// runs longer than its limit.
type watchdog struct {
	t         *testing.T
	limit     time.Duration
	mu        sync.Mutex
	inflight  map[int64]inflight
	seq       int64
	tripped   bool
	total     atomic.Int64
	longest   atomic.Int64
	longestOp string // what the longest request was
}

type inflight struct {
	what  string
	start time.Time
}

func newWatchdog(t *testing.T) *watchdog {
	limit := 5 * time.Second
	if v, err := time.ParseDuration(os.Getenv("GATEHOUSE_WATCHDOG_LIMIT")); err == nil {
		limit = v // lower it to catch a dump of a slow moment
	}
	return &watchdog{t: t, limit: limit, inflight: map[int64]inflight{}}
}

// begin registers a request; the returned func ends it.
func (w *watchdog) begin(what string) func() {
	w.mu.Lock()
	w.seq++
	id := w.seq
	w.inflight[id] = inflight{what, time.Now()}
	w.mu.Unlock()
	w.total.Add(1)
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		d := time.Since(w.inflight[id].start)
		delete(w.inflight, id)
		if int64(d) > w.longest.Load() {
			w.longest.Store(int64(d))
			w.longestOp = what
		}
	}
}

func (w *watchdog) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if slow, ok := w.slowest(); ok {
			var dump bytes.Buffer
			pprof.Lookup("goroutine").WriteTo(&dump, 2)
			w.t.Errorf("watchdog: %s has run for %v (limit %v); all goroutines:\n%s", slow.what,
				time.Since(slow.start).Round(time.Millisecond), w.limit, dump.String())
			return
		}
	}
}

func (w *watchdog) slowest() (inflight, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.inflight {
		if !w.tripped && time.Since(f.start) > w.limit {
			w.tripped = true
			return f, true
		}
	}
	return inflight{}, false
}
