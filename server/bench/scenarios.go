package bench

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"gatehouse/server"
	"gatehouse/tokens"
)

// readPair measures a read scenario and its bare baseline, alternating:
// the bare net/http handler answers the same bytes (probed from
// Gatehouse's own answer) to the same requests from a same-sized pool.
func (e *env) readPair(ctx context.Context, name string, mk func(w int) request, status int, marker string) (gate, base Stats, sh shape, err error) {
	conc := e.opts.Concurrency
	c := newClient(conc)
	defer c.CloseIdleConnections()
	if sh, err = probe(ctx, c, mk(0), status); err != nil {
		return
	}
	bare, done, err := e.bareRunner(ctx, sh, mk)
	if err != nil {
		return
	}
	defer done()
	gateRun := func(d time.Duration) Stats {
		return closedLoop(ctx, conc, d, func(ctx context.Context, w int) error {
			return expect(ctx, c, mk(w), status, marker)
		})
	}
	e.profile(name, func() Stats { base, gate = alternate(e.opts.Duration, bare, gateRun); return gate })
	return
}

// bareRunner drives the bare handler answering sh with the scenario's
// requests, closed loop at the scenario's concurrency.
func (e *env) bareRunner(ctx context.Context, sh shape, mk func(int) request) (runner, func(), error) {
	bare, err := startBare(sh)
	if err != nil {
		return nil, nil, err
	}
	bc := newClient(e.opts.Concurrency)
	run := func(d time.Duration) Stats {
		return closedLoop(ctx, e.opts.Concurrency, d, func(ctx context.Context, w int) error {
			return expect(ctx, bc, retarget(mk(w), e.url, bare.url), sh.status, "")
		})
	}
	return run, func() { bc.CloseIdleConnections(); bare.Close() }, nil
}

func bareName(sh shape) string {
	return fmt.Sprintf("bare net/http, %d B body + %d B headers", len(sh.body), sh.headerBytes)
}

// bearerReq presents a random seeded live token.
func (e *env) bearerReq(set tokenSet, n int) func(int) request {
	return func(int) request {
		return request{method: "GET", url: e.url + "/v1/me",
			header: map[string]string{"Authorization": "Bearer " + set.secret(rand.IntN(n))}}
	}
}

// bearer: GET /v1/me with a random one of the seeded live tokens.
func (e *env) bearer(ctx context.Context) (Result, error) {
	r := Result{Title: "bearer /v1/me, " + count(e.tokens) + " live tokens", Target: atLeast(0.60)}
	gate, base, sh, err := e.readPair(ctx, ScenarioBearer, e.bearerReq(e.live, e.tokens), http.StatusOK, `"token_id"`)
	if err != nil {
		return r, err
	}
	r.measured(gate)
	r.against(bareName(sh), base)
	r.judge(gate.Rate() / base.Rate())
	return r, nil
}

// resourceServer registers the bench's resource server once, through the
// admin socket as an operator would, and returns its secret.
func (e *env) resourceServer(ctx context.Context) (string, error) {
	if e.rsSecret != "" {
		return e.rsSecret, nil
	}
	secret, err := tokens.RandomString(32)
	if err != nil {
		return "", err
	}
	secret = "dfor_" + secret
	h := tokens.HashOf(secret)
	in := map[string]string{"name": "bench-rs", "secret_hash": hex.EncodeToString(h[:])}
	if err := (server.Admin{DataDir: e.data}).Call(ctx, "resource.add", in, nil); err != nil {
		return "", err
	}
	e.rsSecret = secret
	return secret, nil
}

// forwardAuth: the reverse-proxy sub-request (GET /v1/auth/verify), the
// leanest bearer route: no account lookup. Skipped while not mounted.
func (e *env) forwardAuth(ctx context.Context) (Result, error) {
	r := Result{Title: "forward-auth /v1/auth/verify, " + count(e.tokens) + " live tokens", Target: atLeast(0.60)}
	mk := func(int) request {
		return request{method: "GET", url: e.url + "/v1/auth/verify",
			header: map[string]string{"Authorization": "Bearer " + e.live.secret(rand.IntN(e.tokens))}}
	}
	if skip, err := e.absent(ctx, mk(0)); skip || err != nil {
		r.Skipped, r.Note = skip, "GET /v1/auth/verify is not mounted"
		return r, err
	}
	gate, base, sh, err := e.readPair(ctx, ScenarioForwardAuth, mk, http.StatusOK, `"active":true`)
	if err != nil {
		return r, err
	}
	r.measured(gate)
	r.against(bareName(sh), base)
	r.judge(gate.Rate() / base.Rate())
	return r, nil
}

// absent reports whether the route of r is unknown to the server.
func (e *env) absent(ctx context.Context, r request) (bool, error) {
	c := newClient(1)
	defer c.CloseIdleConnections()
	st, _, _, err := send(ctx, c, r)
	return st == http.StatusNotFound || st == http.StatusMethodNotAllowed, err
}

// introspect: RFC 7662 from a Basic-authenticated resource server,
// registered through the admin socket as an operator would. Skipped with a
// note while the route or the registry is missing.
func (e *env) introspect(ctx context.Context) (Result, error) {
	r := Result{Title: "introspection, " + count(e.tokens) + " live tokens", Target: atLeast(0.50)}
	secret, err := e.resourceServer(ctx)
	if err != nil {
		r.Skipped, r.Note = true, "no resource-server registry (admin op resource.add): "+err.Error()
		return r, nil
	}
	mk := func(int) request {
		return request{method: "POST", url: e.url + "/v1/oauth/introspect", ctype: formType, user: "bench-rs", pass: secret,
			body: url.Values{"token": {e.live.secret(rand.IntN(e.tokens))}}.Encode()}
	}
	if skip, err := e.absent(ctx, mk(0)); skip || err != nil {
		r.Skipped, r.Note = skip, "POST /v1/oauth/introspect is not mounted"
		return r, err
	}
	gate, base, sh, err := e.readPair(ctx, ScenarioIntrospect, mk, http.StatusOK, `"active":true`)
	if err != nil {
		return r, err
	}
	r.measured(gate)
	r.against(bareName(sh), base)
	r.judge(gate.Rate() / base.Rate())
	return r, nil
}
