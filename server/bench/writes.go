package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"gatehouse/server"
	"gatehouse/store"
	"gatehouse/tokens"
)

// create: durable device-code creation against a bbolt Batch loop of one
// small put per call on the same disk at the same concurrency.
func (e *env) create(ctx context.Context) (Result, error) {
	conc := e.opts.Concurrency
	c := newClient(conc)
	defer c.CloseIdleConnections()
	return e.writePair(ctx, ScenarioCreate, "device code creation (durable)", atLeast(0.60), func(ctx context.Context, w int) error {
		return expect(ctx, c, e.startFlowReq("create-"+strconv.Itoa(w)), http.StatusOK, `"device_code"`)
	})
}

// createStore is the create scenario without HTTP: conc goroutines call
// store.CreateDeviceCode directly, as the handler does, alternating with the
// same Batch baseline. The gap between this row and create is the HTTP
// path's; between this row and the baseline, the store's group commit's.
func (e *env) createStore(ctx context.Context) (Result, error) {
	st := e.srv.Store()
	r, err := e.writePair(ctx, ScenarioCreateStore, "device code creation, store only (no HTTP)", nil, func(context.Context, int) error {
		for range 5 { // the handler draws again when a user code is taken
			dc, err := newPendingCode(time.Now())
			if err == nil {
				err = st.CreateDeviceCode(dc)
			}
			if !errors.Is(err, store.ErrExists) {
				return err
			}
		}
		return store.ErrExists
	})
	r.Note = joinNote("diagnostic row, no target", r.Note)
	return r, err
}

// writePair alternates a write operation from conc workers with the Batch
// baseline and notes what their commits cost on disk.
func (e *env) writePair(ctx context.Context, name, title string, target *Target, fn op) (Result, error) {
	conc := e.opts.Concurrency
	r := Result{Title: title, Target: target}
	batch, bm, done, err := batchBaseline(ctx, e.root, conc)
	if err != nil {
		return r, err
	}
	defer done()
	gm := &meter{db: e.srv.Store().DB(), unit: "creates"}
	gateRun := gm.wrap(func(d time.Duration) Stats { return closedLoop(ctx, conc, d, fn) })
	var base, gate Stats
	e.profile(name, func() Stats { base, gate = alternate(e.opts.Duration, batch, gateRun); return gate })
	r.measured(gate)
	r.against(fmt.Sprintf("bbolt Batch, 1 put/call, cap %d", conc), base)
	r.judge(gate.Rate() / base.Rate())
	r.Note = "Gatehouse: " + gm.String() + "; baseline: " + bm.String()
	return r, nil
}

// newPendingCode is a code as the create handler makes it.
func newPendingCode(now time.Time) (store.DeviceCode, error) {
	code, err := tokens.NewDeviceCode()
	if err != nil {
		return store.DeviceCode{}, err
	}
	uc, err := tokens.NewUserCode()
	return store.DeviceCode{Hash: tokens.HashOf(code), UserCode: uc, ClientID: server.DefaultClientID, DeviceLabel: "store-only",
		Interval: int(pollInterval / time.Second), CreatedAt: now, ExpiresAt: now.Add(codeTTL)}, err
}

// flow: one client runs whole flows back to back (create, approve through
// the console API, poll, token); its p50 against the p50 of one durable
// single-put bbolt Update.
func (e *env) flow(ctx context.Context) (Result, error) {
	r := Result{Title: "full flow, 1 client (p50 ratio)", Target: atMost(8)}
	update, um, done, err := updateBaseline(ctx, e.root)
	if err != nil {
		return r, err
	}
	defer done()
	s, err := e.login(ctx, 2)
	if err != nil {
		return r, err
	}
	defer s.c.CloseIdleConnections()
	var steps flowSteps
	gm := &meter{db: e.srv.Store().DB(), unit: "flows"}
	gateRun := gm.wrap(func(d time.Duration) Stats {
		return closedLoop(ctx, 1, d, func(ctx context.Context, _ int) error { return e.oneFlow(ctx, s, &steps) })
	})
	var base, gate Stats
	e.profile(ScenarioFlow, func() Stats { base, gate = alternate(e.opts.Duration, update, gateRun); return gate })
	r.measured(gate)
	r.against("bbolt Update, 1 put, durable", base)
	if base.P50 > 0 {
		r.judge(float64(gate.P50) / float64(base.P50))
	}
	r.Note = fmt.Sprintf("req/s column is flows/s (3 requests each); step p50s: %s; Gatehouse (%s file): %s; baseline: %s",
		steps.String(), mib(fileSize(e.data)), gm.String(), um.String())
	return r, nil
}

// flowSteps are the latencies of each request of the flows (one client, so
// no lock).
type flowSteps struct {
	n                     int
	create, approve, poll []time.Duration
}

func (f *flowSteps) String() string {
	p50 := func(ds []time.Duration) string {
		s := slices.Clone(ds)
		slices.Sort(s)
		return dur(quantile(s, 0.5))
	}
	return "create " + p50(f.create) + ", approve " + p50(f.approve) + ", poll+mint " + p50(f.poll)
}

func (e *env) oneFlow(ctx context.Context, s *session, steps *flowSteps) error {
	steps.n++
	t0 := time.Now()
	fc, err := e.startFlow(ctx, s.c, "flow-"+strconv.Itoa(steps.n))
	if err != nil {
		return err
	}
	t1 := time.Now()
	if err := e.approve(ctx, s, fc.UserCode); err != nil {
		return err
	}
	t2 := time.Now()
	if err := expect(ctx, s.c, e.pollReq(fc.DeviceCode), http.StatusOK, `"access_token"`); err != nil {
		return err
	}
	steps.create = append(steps.create, t1.Sub(t0))
	steps.approve = append(steps.approve, t2.Sub(t1))
	steps.poll = append(steps.poll, time.Since(t2))
	return nil
}
