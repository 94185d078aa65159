package bench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/server"
	"gatehouse/store"
	"gatehouse/tokens"
)

// create: durable device-code creation against a bbolt Batch loop of one
// small put per call on the same disk at the same concurrency.
func (e *env) create(ctx context.Context) (Result, error) {
	conc := e.opts.Concurrency
	r := Result{Title: "device code creation (durable)", Target: atLeast(0.60)}
	batch, done, err := batchBaseline(ctx, e.root, conc)
	if err != nil {
		return r, err
	}
	defer done()
	c := newClient(conc)
	defer c.CloseIdleConnections()
	commits, wall := 0, time.Duration(0)
	gateRun := func(d time.Duration) Stats {
		before, t0 := e.commits(), time.Now()
		st := closedLoop(ctx, conc, d, func(ctx context.Context, w int) error {
			return expect(ctx, c, e.startFlowReq("create-"+strconv.Itoa(w)), http.StatusOK, `"device_code"`)
		})
		commits, wall = commits+e.commits()-before, wall+time.Since(t0)
		return st
	}
	var base, gate Stats
	e.profile(ScenarioCreate, func() Stats { base, gate = alternate(e.opts.Duration, batch, gateRun); return gate })
	r.measured(gate)
	r.against(fmt.Sprintf("bbolt Batch, 1 put/call, cap %d", conc), base)
	r.judge(gate.Rate() / base.Rate())
	if commits > 0 {
		r.Note = fmt.Sprintf("%d write commits (%.0f/s), %.1f creates per commit", commits,
			float64(commits)/wall.Seconds(), gate.Rate()*wall.Seconds()/float64(commits))
	}
	return r, nil
}

// createStore is the create scenario without HTTP: conc goroutines call
// store.CreateDeviceCode directly, alternating with the same Batch
// baseline. The gap between this row and create is the HTTP path's; the gap
// between this row and the baseline is the store's group commit's.
func (e *env) createStore(ctx context.Context) (Result, error) {
	conc := e.opts.Concurrency
	r := Result{Title: "device code creation, store only (no HTTP)"}
	batch, done, err := batchBaseline(ctx, e.root, conc)
	if err != nil {
		return r, err
	}
	defer done()
	st := e.srv.Store()
	commits, wall := 0, time.Duration(0)
	gateRun := func(d time.Duration) Stats {
		before, t0 := e.commits(), time.Now()
		res := closedLoop(ctx, conc, d, func(context.Context, int) error {
			dc, err := newPendingCode(time.Now())
			if err == nil {
				err = st.CreateDeviceCode(dc)
			}
			return err
		})
		commits, wall = commits+e.commits()-before, wall+time.Since(t0)
		return res
	}
	var base, gate Stats
	e.profile(ScenarioCreateStore, func() Stats { base, gate = alternate(e.opts.Duration, batch, gateRun); return gate })
	r.measured(gate)
	r.against(fmt.Sprintf("bbolt Batch, 1 put/call, cap %d", conc), base)
	r.judge(gate.Rate() / base.Rate())
	if commits > 0 {
		r.Note = fmt.Sprintf("diagnostic row, no target; %d write commits (%.0f/s), %.1f creates per commit", commits,
			float64(commits)/wall.Seconds(), gate.Rate()*wall.Seconds()/float64(commits))
	}
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

// commits is the id of the last committed write transaction: bbolt numbers
// commits, so the difference over a run counts them.
func (e *env) commits() int {
	var id int
	e.srv.Store().DB().View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
	return id
}

// flow: one client runs whole flows back to back (create, approve through
// the console API, poll, token); its p50 against the p50 of one durable
// single-put bbolt Update.
func (e *env) flow(ctx context.Context) (Result, error) {
	r := Result{Title: "full flow, 1 client (p50 ratio)", Target: atMost(8)}
	update, done, err := updateBaseline(ctx, e.root)
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
	gateRun := func(d time.Duration) Stats {
		return closedLoop(ctx, 1, d, func(ctx context.Context, _ int) error { return e.oneFlow(ctx, s, &steps) })
	}
	var base, gate Stats
	e.profile(ScenarioFlow, func() Stats { base, gate = alternate(e.opts.Duration, update, gateRun); return gate })
	r.measured(gate)
	r.against("bbolt Update, 1 put, durable", base)
	if base.P50 > 0 {
		r.judge(float64(gate.P50) / float64(base.P50))
	}
	r.Note = "req/s column is flows/s (3 requests each); step p50s: " + steps.String() + "; " + e.fileNote()
	return r, nil
}

// fileNote describes the data file a commit has to update: its size and
// its freelist, which bbolt rewrites on every commit.
func (e *env) fileNote() string {
	st := e.srv.Store().DB().Stats()
	return fmt.Sprintf("data file %s with %d free pages (baseline file: a few pages)",
		mib(fileSize(e.data)), st.FreePageN+st.PendingPageN)
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
