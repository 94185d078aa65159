package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"golang.org/x/oauth2"

	"gatehouse/server"
)

// approval: how long a standard polling client (golang.org/x/oauth2's
// DeviceAccessToken, polling at the advertised interval) waits for its
// token after the approval is answered. Each worker starts a flow, lets the
// client poll, approves at a random moment one to two intervals in, and
// times approve-answered to token-received. Plain polling gives about
// interval/2; held polls answer within milliseconds.
func (e *env) approval(ctx context.Context) (Result, error) {
	r := Result{Title: "approval-to-token delay, x/oauth2 client (p50 / interval)", Target: atMost(0.05)}
	conc := e.opts.Concurrency
	s, err := e.login(ctx, conc)
	if err != nil {
		return r, err
	}
	defer s.c.CloseIdleConnections()
	c := newClient(2 * conc)
	defer c.CloseIdleConnections()
	cfg := &oauth2.Config{ClientID: server.DefaultClientID, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: e.url + "/v1/oauth/device/code", TokenURL: e.url + "/v1/oauth/device/token"}}
	octx := context.WithValue(ctx, oauth2.HTTPClient, c)
	// A flow lasts about two intervals, so the window is stretched to get
	// at least a few flows per worker even in a short run.
	d := max(e.opts.Duration, 3*pollInterval)
	gate := e.profile(ScenarioApproval, func() Stats {
		return timedLoop(ctx, conc, d, func(ctx context.Context, _ int) (time.Duration, error) {
			return e.approvalDelay(octx, cfg, s)
		})
	})
	r.measured(gate)
	r.Baseline = "poll interval " + pollInterval.String()
	r.BaseP50 = pollInterval
	r.judge(float64(gate.P50) / float64(pollInterval))
	r.Note = "req/s column is completed flows/s; p50/p99 are the delay from the approve answer to the token"
	return r, nil
}

type tokenResult struct {
	at  time.Time
	err error
}

func (e *env) approvalDelay(ctx context.Context, cfg *oauth2.Config, s *session) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx) // stops the poller if approval fails
	defer cancel()
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return 0, err
	}
	got := make(chan tokenResult, 1)
	go func() {
		_, err := cfg.DeviceAccessToken(ctx, da)
		got <- tokenResult{at: time.Now(), err: err}
	}()
	wait := pollInterval + rand.N(pollInterval)
	select {
	case <-time.After(wait):
	case res := <-got:
		return 0, fmt.Errorf("token before approval: %v", res.err)
	}
	if err := e.approve(ctx, s, da.UserCode); err != nil {
		return 0, err
	}
	approved := time.Now()
	res := <-got
	if res.err != nil {
		return 0, res.err
	}
	// A held poll may be answered before the approve answer reaches us.
	return max(res.at.Sub(approved), 0), nil
}
