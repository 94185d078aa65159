package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/server"
)

// TestCrashTorture kills the real server with SIGKILL at random moments of
// a mixed load, again and again on the same data file, and after every
// restart checks what operators rely on:
//
//   - the file passes `gatehouse check`, both as the kill left it and
//     through the restarted server;
//   - every token a client received still works, unless its revocation was
//     acknowledged (then it is refused, forever);
//   - no device code ever yields two tokens;
//   - no acknowledged approval is lost: the code still yields its token
//     (or a poll whose answer the kill swallowed consumed it);
//   - acknowledged denials stay denials;
//   - a backup taken during the load passes check and holds every token
//     acknowledged before the backup began.
//
// GATEHOUSE_TORTURE_CYCLES sets the number of kills (default 50, about 30 s);
// GATEHOUSE_TORTURE_SEED replays a run. scripts/torture.sh runs a long one.
func TestCrashTorture(t *testing.T) {
	cycles := envInt(t, "GATEHOUSE_TORTURE_CYCLES", 50)
	seed := int64(envInt(t, "GATEHOUSE_TORTURE_SEED", int(time.Now().UnixNano()%1e9)))
	t.Logf("torture: %d kill cycles, seed %d (GATEHOUSE_TORTURE_SEED=%d replays the choices)", cycles, seed, seed)
	tt := &torture{t: t, dir: t.TempDir(), backupDir: t.TempDir(), rng: rand.New(rand.NewSource(seed)), stats: map[string]int{}}
	addOperator(t, tt.dir)
	tt.p = startServe(t, tt.dir)
	var err error
	if tt.sess, err = tt.p.signIn(opEmail, opPassword); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < cycles && !t.Failed(); i++ {
		tt.cycle()
	}
	if t.Failed() {
		t.Logf("server output of the last run:\n%s", tt.p.out.String())
		tt.p.kill()
		return
	}
	tt.finish()
	t.Logf("torture: %d kills in %v; %s", cycles, time.Since(start).Round(time.Millisecond), tt.summary())
}

func envInt(t testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// outcome is what a client knows of a request that changes state.
type outcome int

const (
	notSent outcome = iota
	sent            // sent, answer lost to a kill: it may or may not have committed
	acked           // the server said it is done
)

type tflow struct {
	device, user, label string
	approve, deny       outcome
	token               *ttok // the one token this code yielded
	pollLost            bool  // a poll after approval lost its answer: it may have consumed the code
	lastPollGen         int
	lastPoll            time.Time
	busy                bool
}

type ttok struct {
	value, id string
	flow      *tflow
	seq       int // acknowledgement order
	revoke    outcome
	busy      bool
	verifyGen int // last restart that checked it
}

type tbackup struct {
	path   string
	expect []*ttok // acknowledged before it began, not being revoked when it ended
}

// torture is the client-side model of everything acknowledged so far.
type torture struct {
	t         *testing.T
	dir       string
	backupDir string
	p         *serveProc
	sess      console

	mu     sync.Mutex
	rng    *rand.Rand
	gen    int
	seq    int
	labels int
	// unconfirmed are codes excused as consumed by a lost poll, to be
	// confirmed against the token rows at the next verify.
	unconfirmed []*tflow
	flows       []*tflow
	toks        []*ttok
	backups     []*tbackup
	checked     int  // backups verified
	servedOne   bool // a backup was restored and served
	stats       map[string]int
	killedAt    time.Time
}

func (tt *torture) failf(format string, args ...any) {
	tt.t.Helper()
	tt.t.Errorf("cycle %d: "+format, append([]any{tt.gen}, args...)...)
}

func (tt *torture) count(what string) {
	tt.stats[what]++
}

// cycle verifies the state after the last restart, runs a burst of load,
// kills the server in the middle of it, checks the file it left, and
// starts the server again.
func (tt *torture) cycle() {
	tt.verify(false)
	if tt.t.Failed() {
		return
	}
	tt.mu.Lock()
	delay := time.Duration(tt.rng.Intn(250)) * time.Millisecond
	tt.mu.Unlock()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() { defer wg.Done(); tt.httpWorker(stop) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); tt.cliWorker(stop) }()
	time.Sleep(delay)
	tt.mu.Lock()
	tt.killedAt = time.Now()
	tt.mu.Unlock()
	tt.p.kill()
	close(stop)
	wg.Wait() // CLI commands that lost the socket finish on the file directly first
	tt.count("kills")
	if out, code := runCLI("", "check", "--file", filepath.Join(tt.dir, "gatehouse.db")); code != 0 {
		tt.failf("the file as the kill left it fails check: %d %s", code, out)
	}
	tt.verifyBackups()
	tt.restart()
}

func (tt *torture) restart() {
	p, err := launchServe(tt.dir, freePort(tt.t), nil)
	if err == nil {
		err = p.waitReady(15 * time.Second)
	}
	if err != nil {
		out := ""
		if p != nil {
			out = p.out.String()
		}
		tt.failf("restart: %v\n%s", err, out)
		return
	}
	tt.mu.Lock()
	tt.p, tt.gen = p, tt.gen+1
	tt.mu.Unlock()
}

// verify checks the model against the restarted server; full checks every
// token and code, otherwise a bounded sample keeps long runs fast.
func (tt *torture) verify(full bool) {
	tt.mu.Lock()
	toks := tt.pickTokens(full)
	flows := tt.pickFlows(full)
	tt.mu.Unlock()
	parallel(8, len(toks), func(i int) { tt.verifyToken(toks[i]) })
	parallel(8, len(flows), func(i int) { tt.verifyFlow(flows[i]) })
	tt.confirmLostTokens()
	if out, code := runCLI("", "check", "--data-dir", tt.dir); code != 0 {
		tt.failf("gatehouse check through the running server: %d %s", code, out)
	}
}

// confirmLostTokens checks that every code excused as "consumed by a poll
// whose answer was lost" really minted: a token row with its device label
// (unique per flow) exists, live or revoked. Otherwise the approval was lost.
func (tt *torture) confirmLostTokens() {
	tt.mu.Lock()
	lost := tt.unconfirmed
	tt.unconfirmed = nil
	tt.mu.Unlock()
	if len(lost) == 0 {
		return
	}
	out, code := runCLI("", "tokens", "list", "--all", "--json", "--data-dir", tt.dir)
	var rows []struct {
		DeviceLabel string `json:"device_label"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil {
		tt.failf("tokens list --all --json: %d %s", code, out)
		return
	}
	minted := map[string]bool{}
	for _, r := range rows {
		minted[r.DeviceLabel] = true
	}
	for _, f := range lost {
		if !minted[f.label] {
			tt.failf("device code %s answered invalid_grant after a poll lost its answer, but no token row has its label: the approval was lost", f.label)
		}
	}
	tt.mu.Lock()
	tt.stats["lost answers confirmed by a token row"] += len(lost)
	tt.mu.Unlock()
}

func (tt *torture) pickTokens(full bool) []*ttok {
	if full || len(tt.toks) <= 400 {
		return append([]*ttok(nil), tt.toks...)
	}
	out := append([]*ttok(nil), tt.toks[len(tt.toks)-200:]...)
	for range 200 {
		out = append(out, tt.toks[tt.rng.Intn(len(tt.toks))])
	}
	return out
}

// pickFlows returns every code whose fate is still open, and (or a sample
// of) those already consumed, whose codes must stay spent.
func (tt *torture) pickFlows(full bool) []*tflow {
	var out []*tflow
	for _, f := range tt.flows {
		open := f.token == nil && (f.approve != notSent || f.deny != notSent)
		if open || full || f.token != nil && f.token.seq > tt.seq-40 {
			out = append(out, f)
		}
	}
	return out
}

func (tt *torture) verifyToken(tk *ttok) {
	r := tt.p.me(tk.value)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tk.verifyGen = tt.gen
	switch {
	case r.err != nil:
		tt.failf("/v1/me after restart: %v", r.err)
	case tk.revoke == acked && r.status != 401:
		tt.failf("token %s: revocation was acknowledged, but /v1/me answers %d after restart", tk.id, r.status)
	case tk.revoke == notSent && r.status != 200:
		tt.failf("token %s (acknowledged #%d, never revoked) answers %d after restart: %v", tk.id, tk.seq, r.status, r.body)
	case tk.revoke == sent && r.status == 200:
		tk.revoke = notSent // the revocation did not commit before the kill
	case tk.revoke == sent && r.status == 401:
		tk.revoke = acked // it did; from now on it must hold
		tt.count("revocations learned after restart")
	}
}

// parallel runs f(0..n-1) on up to k goroutines.
func parallel(k, n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// verifyFlow polls a code after a restart (the pacer starts afresh, so the
// first poll is always judged) and settles what the kill left uncertain. A
// code whose approval or denial is uncertain is looked up first: if it is
// still pending, a poll would only be held.
func (tt *torture) verifyFlow(f *tflow) {
	tt.mu.Lock()
	uncertain := f.token == nil && (f.approve == sent || f.deny == sent)
	tt.mu.Unlock()
	if uncertain {
		r := do(tt.p.http, "GET", tt.p.base+"/v1/oauth/device/lookup?user_code="+f.user, "", "", nil)
		if r.err == nil && r.status == 200 && r.body["valid"] == true {
			tt.mu.Lock()
			f.approve, f.deny = notSent, notSent // neither committed before the kill
			tt.mu.Unlock()
			return
		}
	}
	r := tt.p.pollOnce(f.device)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	f.lastPollGen, f.lastPoll = tt.gen, time.Now()
	if r.err != nil {
		tt.failf("poll after restart: %v", r.err)
		return
	}
	tt.judgePoll(f, r, true)
}

// judgePoll records a poll's answer and fails on any that breaks a
// promise. Called with tt.mu held.
func (tt *torture) judgePoll(f *tflow, r reply, afterRestart bool) {
	code := r.str("error")
	switch {
	case r.status == 200:
		if f.token != nil {
			tt.failf("device code %s yielded a second token (first %s, now %s)", f.label, f.token.id, r.str("token_id"))
			return
		}
		if f.deny == acked {
			tt.failf("device code %s was denied (acknowledged) but yielded a token", f.label)
		}
		f.approve, f.deny = acked, notSent
		tt.seq++
		f.token = &ttok{value: r.str("access_token"), id: r.str("token_id"), flow: f, seq: tt.seq}
		tt.toks = append(tt.toks, f.token)
		tt.count("tokens")
	case code == "slow_down":
		if afterRestart {
			tt.failf("first poll after restart answered slow_down")
		}
	case code == "authorization_pending":
		if f.approve == acked || f.deny == acked {
			tt.failf("device code %s: acknowledged approval/denial lost, poll says pending", f.label)
		}
		f.approve, f.deny = notSent, notSent // an unacknowledged answer did not commit
	case code == "access_denied":
		if f.approve == acked {
			tt.failf("device code %s: acknowledged approval turned into access_denied", f.label)
		}
		f.deny, f.approve = acked, notSent
	case code == "invalid_grant":
		switch {
		case f.token != nil:
		case f.pollLost:
			// Consumed by a poll whose answer was lost, or deleted by a bug:
			// verify tells them apart by the token row's device label.
			f.token = &ttok{id: "(consumed by a poll whose answer was lost)"}
			tt.unconfirmed = append(tt.unconfirmed, f)
			tt.count("tokens lost with their answer")
		default:
			tt.failf("device code %s (approve %d, deny %d) vanished: invalid_grant without a token ever delivered", f.label, f.approve, f.deny)
		}
	default:
		tt.failf("poll of %s answered %d %v", f.label, r.status, r.body)
	}
}

// httpWorker runs random client and approver requests until stop.
func (tt *torture) httpWorker(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		tt.mu.Lock()
		op := tt.rng.Intn(13)
		tt.mu.Unlock()
		switch {
		case op < 3:
			tt.opCreate()
		case op < 6:
			tt.opResolve(op < 5)
		case op < 9:
			tt.opPoll()
		case op < 12:
			tt.opMe()
		default:
			tt.opRevokeSelf()
		}
	}
}

func (tt *torture) opCreate() {
	tt.mu.Lock()
	tt.labels++
	label := fmt.Sprintf("box-%d", tt.labels)
	tt.mu.Unlock()
	r := tt.p.startFlow(label)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	switch {
	case r.err != nil:
	case r.status == 200:
		tt.flows = append(tt.flows, &tflow{device: r.str("device_code"), user: r.str("user_code"), label: label})
		tt.count("codes")
	default:
		tt.failf("device/code answered %d %v", r.status, r.body)
	}
}

func (tt *torture) opResolve(approve bool) {
	tt.mu.Lock()
	f := tt.pickFlow(func(f *tflow) bool { return f.approve == notSent && f.deny == notSent && f.token == nil })
	if f == nil {
		tt.mu.Unlock()
		return
	}
	action, state := "deny", &f.deny
	if approve {
		action, state = "approve", &f.approve
	}
	*state = sent
	tt.mu.Unlock()
	r := tt.p.resolve(tt.sess, action, f.user)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	f.busy = false
	switch {
	case r.err != nil:
	case r.status == 200:
		*state = acked
		tt.count(map[string]string{"approve": "approved", "deny": "denied"}[action])
	default:
		tt.failf("%s %s answered %d %v", action, f.label, r.status, r.body)
	}
}

func (tt *torture) opPoll() {
	tt.mu.Lock()
	f := tt.pickFlow(func(f *tflow) bool {
		return f.token == nil && (f.approve == acked || f.deny == acked) &&
			(f.lastPollGen != tt.gen || time.Since(f.lastPoll) > 1100*time.Millisecond)
	})
	if f == nil {
		tt.mu.Unlock()
		return
	}
	f.lastPollGen, f.lastPoll = tt.gen, time.Now()
	tt.mu.Unlock()
	r := tt.p.pollOnce(f.device)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	f.busy = false
	if r.err != nil {
		f.pollLost = true
		return
	}
	tt.judgePoll(f, r, false)
}

func (tt *torture) opMe() {
	tt.mu.Lock()
	tk := tt.pickToken(func(tk *ttok) bool { return tk.revoke != sent })
	if tk == nil {
		tt.mu.Unlock()
		return
	}
	tt.mu.Unlock()
	r := tt.p.me(tk.value)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tk.busy = false
	switch {
	case r.err != nil:
	case tk.revoke == acked && r.status != 401:
		tt.failf("revoked token %s answers %d", tk.id, r.status)
	case tk.revoke == notSent && r.status != 200:
		tt.failf("live token %s answers %d %v", tk.id, r.status, r.body)
	default:
		tt.count("bearer checks")
	}
}

func (tt *torture) opRevokeSelf() {
	tt.mu.Lock()
	tk := tt.pickToken(func(tk *ttok) bool { return tk.revoke == notSent })
	if tk == nil {
		tt.mu.Unlock()
		return
	}
	tk.revoke = sent
	tt.mu.Unlock()
	r := tt.p.revokeSelf(tk.value)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tk.busy = false
	switch {
	case r.err != nil:
	case r.status == 200 && r.body["revoked"] == true:
		tk.revoke = acked
		tt.count("revoked (self)")
	default:
		tt.failf("revoke self of %s answered %d %v", tk.id, r.status, r.body)
	}
}

// pickFlow returns a random idle flow matching ok, marked busy. Called
// with tt.mu held.
func (tt *torture) pickFlow(ok func(*tflow) bool) *tflow {
	n := len(tt.flows)
	for range 20 {
		if n == 0 {
			return nil
		}
		f := tt.flows[n-1-tt.rng.Intn(min(n, 60))] // recent codes are the live ones
		if !f.busy && ok(f) {
			f.busy = true
			return f
		}
	}
	return nil
}

func (tt *torture) pickToken(ok func(*ttok) bool) *ttok {
	n := len(tt.toks)
	for range 20 {
		if n == 0 {
			return nil
		}
		tk := tt.toks[tt.rng.Intn(n)]
		if !tk.busy && tk.value != "" && ok(tk) {
			tk.busy = true
			return tk
		}
	}
	return nil
}

// cliWorker runs operator commands through the admin socket: revoke by id,
// prune, backup. A command that loses the socket to the kill falls back to
// the file once the server is gone; its answer then counts as well.
func (tt *torture) cliWorker(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		tt.mu.Lock()
		op := tt.rng.Intn(4)
		tt.mu.Unlock()
		switch op {
		case 0:
			tt.cliRevoke()
		case 1:
			tt.cliPrune()
		default:
			tt.cliBackup()
		}
	}
}

func (tt *torture) cliRevoke() {
	tt.mu.Lock()
	tk := tt.pickToken(func(tk *ttok) bool { return tk.revoke == notSent })
	if tk == nil {
		tt.mu.Unlock()
		return
	}
	tk.revoke = sent
	tt.mu.Unlock()
	out, code := runCLI("", "revoke", "--data-dir", tt.dir, "--token-id", tk.id)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tk.busy = false
	if code == 0 && (strings.Contains(out, "revoked "+tk.id) || strings.Contains(out, "1 already revoked")) {
		tk.revoke = acked
		tt.count("revoked (cli)")
	}
}

func (tt *torture) cliPrune() {
	start := time.Now()
	out, code := runCLI("", "prune", "--data-dir", tt.dir, "--retention", "1s")
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if code == 0 {
		tt.count("prunes")
	} else if tt.killedAt.Before(start) {
		tt.failf("prune with the server up the whole time: %d %s", code, out)
	}
}

func (tt *torture) cliBackup() {
	tt.mu.Lock()
	dest := filepath.Join(tt.backupDir, fmt.Sprintf("b%d", len(tt.backups)+tt.stats["backups failed"]), "gatehouse.db")
	began := tt.seq
	tt.mu.Unlock()
	os.MkdirAll(filepath.Dir(dest), 0o700)
	out, code := runCLI("", "backup", "--data-dir", tt.dir, dest)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if code != 0 {
		tt.count("backups failed")
		if _, err := os.Stat(dest); err == nil {
			tt.backups = append(tt.backups, &tbackup{path: dest}) // whatever is there must still pass check
		}
		_ = out
		return
	}
	b := &tbackup{path: dest}
	for _, tk := range tt.toks {
		if tk.seq <= began && tk.revoke == notSent && tk.value != "" {
			b.expect = append(b.expect, tk)
		}
	}
	tt.backups = append(tt.backups, b)
	tt.count("backups")
}

// verifyBackups checks the backups taken since the last cycle: each passes
// check and lists every token it must hold as live; the first and the
// latest are also served and asked about each token.
func (tt *torture) verifyBackups() {
	tt.mu.Lock()
	todo := tt.backups[tt.checked:]
	tt.checked = len(tt.backups)
	tt.mu.Unlock()
	for _, b := range todo {
		if out, code := runCLI("", "check", "--file", b.path); code != 0 {
			tt.failf("backup %s fails check: %d %s", b.path, code, out)
			continue
		}
		tt.backupLists(b)
		if !tt.servedOne && len(b.expect) > 0 {
			tt.servedOne = true
			tt.serveBackup(b)
		}
	}
}

func (tt *torture) backupLists(b *tbackup) {
	if len(b.expect) == 0 {
		return
	}
	dir := copyDataDir(tt.t, b.path, "")
	out, code := runCLI("", "tokens", "list", "--data-dir", dir, "--json")
	var list []server.TokenInfo
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
		tt.failf("tokens list on backup %s: %d %s", b.path, code, out)
		return
	}
	live := map[string]bool{}
	for _, ti := range list {
		live[ti.ID] = ti.RevokedAt.IsZero()
	}
	for _, tk := range b.expect {
		if !live[tk.id] {
			tt.failf("backup %s lacks token %s, acknowledged (#%d) before the backup began", b.path, tk.id, tk.seq)
		}
	}
	tt.count("backups verified")
}

// serveBackup restores a backup as an operator would (the file and the key
// into a fresh data dir), serves it and checks each token it must hold.
func (tt *torture) serveBackup(b *tbackup) {
	dir := copyDataDir(tt.t, b.path, filepath.Join(tt.dir, server.KeyFileName))
	p := startServe(tt.t, dir)
	defer p.kill()
	for _, tk := range b.expect {
		if r := p.me(tk.value); r.status != 200 {
			tt.failf("restored backup refuses token %s (acknowledged before the backup): %d %v", tk.id, r.status, r.err)
		}
	}
	tt.count("backups served")
}

// finish checks everything once more after the last restart, then stops
// the server cleanly and checks the file it leaves.
func (tt *torture) finish() {
	tt.verify(true)
	if len(tt.backups) > 0 { // the latest backup is served too
		if b := tt.backups[len(tt.backups)-1]; len(b.expect) > 0 {
			tt.serveBackup(b)
		}
	}
	tt.p.signalTerm()
	select {
	case <-tt.p.exited:
	case <-time.After(15 * time.Second):
		tt.failf("SIGTERM did not stop the server")
		tt.p.kill()
	}
	if out, code := runCLI("", "check", "--file", filepath.Join(tt.dir, "gatehouse.db")); code != 0 {
		tt.failf("check after a clean stop: %d %s", code, out)
	}
}

func (tt *torture) summary() string {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	var parts []string
	for _, k := range []string{"codes", "approved", "denied", "tokens", "bearer checks", "revoked (self)", "revoked (cli)",
		"revocations learned after restart", "tokens lost with their answer", "lost answers confirmed by a token row", "prunes", "backups", "backups failed",
		"backups verified", "backups served"} {
		parts = append(parts, fmt.Sprintf("%s %d", k, tt.stats[k]))
	}
	fi, _ := os.Stat(filepath.Join(tt.dir, "gatehouse.db"))
	if fi != nil {
		parts = append(parts, fmt.Sprintf("file %d KiB", fi.Size()>>10))
	}
	return strings.Join(parts, ", ")
}
