package bench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// create: durable device-code creation against a bbolt Batch loop of one
// small put per call on the same disk at the same concurrency.
func (e *env) create(ctx context.Context) (Result, error) {
	conc := e.opts.Concurrency
	r := Result{Title: "device code creation (durable)", Target: atLeast(0.60)}
	base, err := batchBaseline(ctx, e.root, conc, e.opts.Duration)
	if err != nil {
		return r, err
	}
	c := newClient(conc)
	defer c.CloseIdleConnections()
	before := e.commits()
	gate := e.profile(ScenarioCreate, func() Stats {
		return closedLoop(ctx, conc, e.opts.Duration, func(ctx context.Context, w int) error {
			return expect(ctx, c, e.startFlowReq("create-"+strconv.Itoa(w)), http.StatusOK, `"device_code"`)
		})
	})
	r.measured(gate)
	r.against(fmt.Sprintf("bbolt Batch, 1 put/call, cap %d", conc), base)
	r.judge(gate.Rate() / base.Rate())
	r.Note = e.commitNote(before, gate.Requests+gate.Errors, gate.Elapsed+warmup(e.opts.Duration))
	return r, nil
}

// commits is the id of the last committed write transaction: bbolt numbers
// commits, so the difference over a run counts them.
func (e *env) commits() int {
	var id int
	e.srv.Store().DB().View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
	return id
}

// commitNote tells how many requests shared a commit (group commit at work
// or not); the warm-up's requests are not in n, so the group is a floor.
func (e *env) commitNote(before, n int, wall time.Duration) string {
	c := e.commits() - before
	if c <= 0 {
		return ""
	}
	return fmt.Sprintf("%d write commits in %s (%.0f/s), at least %.1f requests per commit",
		c, wall.Round(time.Second), float64(c)/wall.Seconds(), float64(n)/float64(c))
}

// flow: one client runs whole flows back to back (create, approve through
// the console API, poll, token); its p50 against the p50 of one durable
// single-put bbolt Update.
func (e *env) flow(ctx context.Context) (Result, error) {
	r := Result{Title: "full flow, 1 client (p50 ratio)", Target: atMost(8)}
	base, err := updateBaseline(ctx, e.root, e.opts.Duration)
	if err != nil {
		return r, err
	}
	s, err := e.login(ctx, 2)
	if err != nil {
		return r, err
	}
	defer s.c.CloseIdleConnections()
	var steps flowSteps
	gate := e.profile(ScenarioFlow, func() Stats {
		return closedLoop(ctx, 1, e.opts.Duration, func(ctx context.Context, _ int) error {
			return e.oneFlow(ctx, s, &steps)
		})
	})
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
