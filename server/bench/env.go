package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"gatehouse/server"
	"gatehouse/server/ratelimit"
	"gatehouse/store"
	"gatehouse/tokens"
)

// Fixture sizes and the server settings every scenario runs under.
const (
	benchAccounts = 16
	pollInterval  = time.Second // the minimum the server accepts
	codeTTL       = 15 * time.Minute
	tokenTTLDays  = 14
)

// env is one seeded Gatehouse under test plus what the scenarios share.
type env struct {
	opts     Options
	root     string // temp dir: data directory and baseline files
	data     string
	srv      *server.Server
	url      string
	accounts []benchAccount
	live     tokenSet
	key      string // the secret key, as GATEHOUSE_SECRET_KEY would give it
	rsSecret string // the introspecting resource server's, once registered
	attempt  int    // of the scenario running now (QuietWait/Retries)
	tokens   int
	started  time.Duration // server.Start on the seeded file
	opened   time.Duration // store.Open on the seeded file
	seeded   time.Duration
}

// startEnv seeds a data directory with accounts, live tokens and (for the
// scale scenario) long-expired ones, then starts the server on it.
func startEnv(ctx context.Context, opts Options, root string, live, expired int) (*env, error) {
	e := &env{opts: opts, root: root, data: filepath.Join(root, "data"), live: tokenSet("live"), tokens: live}
	if err := os.MkdirAll(e.data, 0o700); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := e.seed(live, expired); err != nil {
		return nil, err
	}
	e.seeded = time.Since(t0)
	e.logf("seeded %d live and %d expired tokens in %s", live, expired, e.seeded.Round(time.Millisecond))
	var err error
	if e.opened, err = timeOpen(e.data); err != nil {
		return nil, err
	}
	t0 = time.Now()
	if err := e.start(!opts.NoHoldPolls); err != nil {
		return nil, err
	}
	e.started = time.Since(t0)
	return e, ctx.Err()
}

// start starts the server on the seeded data directory.
func (e *env) start(hold bool) error {
	cfg, err := benchConfig(e.data, hold)
	if err != nil {
		return err
	}
	if e.key == "" {
		if e.key, err = tokens.RandomString(32); err != nil {
			return err
		}
	}
	cfg.SecretKey = e.key
	if e.srv, err = server.Start(cfg); err != nil {
		return err
	}
	e.url = e.srv.URL()
	return nil
}

// restart stops the server and starts it again on the same file with
// holding on or off (in-memory pacing and holds start afresh).
func (e *env) restart(hold bool) error {
	if err := e.srv.Close(); err != nil {
		return err
	}
	e.srv = nil
	return e.start(hold)
}

func (e *env) seed(live, expired int) error {
	st, err := store.Open(e.data, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	if e.accounts, err = createAccounts(st, benchAccounts, now); err != nil {
		return err
	}
	if err := checkLayout(st, e.accounts[0], now); err != nil {
		return err
	}
	ttl := time.Duration(tokenTTLDays) * 24 * time.Hour
	err = seedTokens(st, live, func(i int) store.Token { return e.live.row(i, e.accounts, now.Add(-time.Hour), now.Add(ttl)) })
	if err != nil {
		return err
	}
	// Expired past the retention window, never presented again: exactly
	// what a prune deletes.
	old := tokenSet("expired")
	gone := now.Add(-server.DefaultRetention - 24*time.Hour)
	if err := seedTokens(st, expired, func(i int) store.Token { return old.row(i, e.accounts, gone.Add(-ttl), gone) }); err != nil {
		return err
	}
	if live > 0 {
		return checkSeeded(st, e.live, live)
	}
	return nil
}

// timeOpen times store.Open (which also runs the migration check in a
// write transaction) on the seeded file, page cache warm from seeding.
func timeOpen(dir string) (time.Duration, error) {
	t0 := time.Now()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		return 0, err
	}
	d := time.Since(t0)
	return d, st.Close()
}

func (e *env) close() {
	if e.srv != nil {
		if err := e.srv.Close(); err != nil {
			e.logf("close: %v", err)
		}
	}
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.opts.Progress, "bench: "+format+"\n", args...)
}

// benchConfig is a normal server with every rate limit off: the load
// generator is one client address hammering a handful of accounts, which
// the shipped budgets rightly refuse.
func benchConfig(dir string, hold bool) (server.Config, error) {
	lim, err := relaxedLimits()
	return server.Config{Listen: "127.0.0.1:0", DataDir: dir, DeviceCodeTTL: codeTTL, PollInterval: pollInterval, HoldPolls: hold,
		TokenTTLDays: tokenTTLDays, ExternalTTLDays: tokenTTLDays, Retention: server.DefaultRetention,
		AuditRetention: server.DefaultAuditRetention, PasswordCost: cheapArgon2, Limits: lim}, err
}

// relaxedLimits is DefaultLimits with NAME=off applied to every limit,
// found by walking the struct so a limit added later is relaxed too.
func relaxedLimits() (server.Limits, error) {
	lim := server.DefaultLimits(codeTTL, server.DefaultMaxPendingCodes)
	v := reflect.ValueOf(lim)
	for i := range v.NumField() {
		if l, ok := v.Field(i).Interface().(ratelimit.Limit); ok {
			if err := lim.Override(l.Name + "=off"); err != nil {
				return lim, err
			}
		}
	}
	return lim, nil
}

// session is a signed-in console: its client carries the cookie.
type session struct {
	c    *http.Client
	csrf string
}

// login signs the first bench account in through the console API.
func (e *env) login(ctx context.Context, conns int) (*session, error) {
	c := newClient(conns)
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	body, _ := json.Marshal(map[string]string{"email": e.accounts[0].Email, "password": benchPassword})
	st, raw, _, err := send(ctx, c, request{method: "POST", url: e.url + "/console/api/login", ctype: "application/json", body: string(body)})
	if err != nil {
		return nil, err
	}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if st != http.StatusOK || json.Unmarshal(raw, &out) != nil || out.CSRF == "" {
		return nil, fmt.Errorf("%w: login: %d %s", errStatus, st, trim(string(raw)))
	}
	return &session{c: c, csrf: out.CSRF}, nil
}

// approve approves a user code as the signed-in account.
func (e *env) approve(ctx context.Context, s *session, userCode string) error {
	body, _ := json.Marshal(map[string]string{"user_code": userCode})
	return expect(ctx, s.c, request{method: "POST", url: e.url + "/console/api/oauth/device/approve", ctype: "application/json",
		body: string(body), header: map[string]string{"X-CSRF-Token": s.csrf, "Origin": e.url}}, http.StatusOK, `"approved"`)
}

// flowCodes is a started flow as the CLI holds it.
type flowCodes struct {
	DeviceCode string `json:"device_code"`
	UserCode   string `json:"user_code"`
}

func (e *env) startFlowReq(label string) request {
	return request{method: "POST", url: e.url + "/v1/oauth/device/code", ctype: formType,
		body: url.Values{"client_id": {server.DefaultClientID}, "device_label": {label}}.Encode()}
}

const formType = "application/x-www-form-urlencoded"

// startFlow asks for a device code.
func (e *env) startFlow(ctx context.Context, c *http.Client, label string) (flowCodes, error) {
	var fc flowCodes
	st, raw, _, err := send(ctx, c, e.startFlowReq(label))
	if err != nil {
		return fc, err
	}
	if st != http.StatusOK || json.Unmarshal(raw, &fc) != nil || fc.DeviceCode == "" {
		return fc, fmt.Errorf("%w: device/code: %d %s", errStatus, st, trim(string(raw)))
	}
	return fc, nil
}

// startFlows starts n flows through the API from conc clients at once.
func (e *env) startFlows(ctx context.Context, n, conc int) ([]flowCodes, error) {
	c := newClient(conc)
	defer c.CloseIdleConnections()
	out := make([]flowCodes, n)
	errs := make([]error, conc)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for i := w; i < n && errs[w] == nil; i += conc {
				out[i], errs[w] = e.startFlow(ctx, c, "pending-poll")
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (e *env) pollReq(deviceCode string) request {
	return request{method: "POST", url: e.url + "/v1/oauth/device/token", ctype: formType,
		body: url.Values{"grant_type": {server.DeviceGrantType}, "device_code": {deviceCode}, "client_id": {server.DefaultClientID}}.Encode()}
}
