package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"gatehouse/server"
	"gatehouse/store"
)

// scalePending is how many pending codes the scale server holds (issue 7,
// "100k pending codes and 1M tokens").
const scalePending = 100_000

// pruneP99Budget is the scale target for bearer checks during a prune.
const pruneP99Budget = 50 * time.Millisecond

// ScaleReport holds the scale scenario's figures beside its table rows.
type ScaleReport struct {
	Live          int            `json:"live_tokens"`
	MemBefore     Mem            `json:"mem_before"` // before the scale server started
	Expired       int            `json:"expired_tokens"`
	Seeded        time.Duration  `json:"seed_ns"`
	FileBytes     int64          `json:"file_bytes"`
	BytesPerToken float64        `json:"file_bytes_per_token"`
	Opened        time.Duration  `json:"store_open_ns"`
	Started       time.Duration  `json:"server_start_ns"`
	MemStarted    Mem            `json:"mem_started"`
	Pending       int            `json:"pending_codes"`
	PendingTime   time.Duration  `json:"pending_create_ns"`
	MemPending    Mem            `json:"mem_with_pending"`
	PruneTime     time.Duration  `json:"prune_ns"`
	Pruned        map[string]int `json:"pruned"`
	FileAfter     int64          `json:"file_bytes_after_prune"`
	MemAfter      Mem            `json:"mem_after_prune"`
}

// runScale seeds ScaleTokens live and as many long-expired tokens, starts a
// server on the file, adds 100k pending codes through the API, measures
// bearer checks against the --tokens figure, then prunes the expired
// million through the admin socket while bearer checks continue.
func runScale(ctx context.Context, opts Options, dir string, rep *Report, small *env) error {
	n := opts.ScaleTokens
	before := memNow()
	e, err := startEnv(ctx, opts, dir, n, n)
	if err != nil {
		return err
	}
	defer e.close()
	sr := &ScaleReport{Live: n, Expired: n, Seeded: e.seeded, Opened: e.opened, Started: e.started, MemBefore: before}
	rep.Scale = sr
	sr.FileBytes = fileSize(e.data)
	sr.BytesPerToken = float64(sr.FileBytes) / float64(2*n)
	sr.MemStarted = memNow()
	e.logf("scale: file %s, store open %s, server start %s", mib(sr.FileBytes), sr.Opened, sr.Started)

	sr.Pending = min(scalePending, n)
	t0 := time.Now()
	if _, err := e.startFlows(ctx, sr.Pending, opts.Concurrency); err != nil {
		return fmt.Errorf("pending codes: %w", err)
	}
	sr.PendingTime = time.Since(t0)
	sr.MemPending = memNow()
	e.logf("scale: %d pending codes in %s", sr.Pending, sr.PendingTime.Round(time.Millisecond))

	cpu := sampleCPU()
	if opts.QuietWait > 0 {
		waitQuiet(ctx, opts.QuietWait)
	}
	res := e.scaleBearer(ctx, small)
	res.SelfCPU, res.Others = cpuSince(cpu)
	rep.Results = append(rep.Results, res)
	e.logf("scale: prune under load")
	cpu = sampleCPU()
	res, err = e.pruneUnderLoad(ctx, sr)
	if err != nil {
		return err
	}
	res.SelfCPU, res.Others = cpuSince(cpu)
	rep.Results = append(rep.Results, res)
	sr.FileAfter = fileSize(e.data)
	sr.MemAfter = memNow()
	return nil
}

// scaleBearer is the bearer scenario on the big file, alternating with the
// same load on the --tokens server (still running) as its reference.
func (e *env) scaleBearer(ctx context.Context, small *env) Result {
	r := Result{Scenario: ScenarioScale, Title: "scale: bearer /v1/me, " + count(e.tokens) + " live + " + count(e.tokens) + " expired",
		Target: atLeast(0.90)}
	run := func(env *env) (runner, func()) {
		c := newClient(e.opts.Concurrency)
		mk := env.bearerReq(env.live, env.tokens)
		return func(d time.Duration) Stats {
			return closedLoop(ctx, e.opts.Concurrency, d, func(ctx context.Context, w int) error {
				return expect(ctx, c, mk(w), http.StatusOK, `"token_id"`)
			})
		}, c.CloseIdleConnections
	}
	ref, done1 := run(small)
	defer done1()
	big, done2 := run(e)
	defer done2()
	var base, gate Stats
	e.profile("scale-bearer", func() Stats { base, gate = alternate(e.opts.Duration, ref, big); return gate })
	r.measured(gate)
	r.against("bearer /v1/me, "+count(small.tokens)+" live tokens", base)
	r.judge(gate.Rate() / base.Rate())
	return r
}

// pruneUnderLoad runs bearer checks from every worker for exactly as long
// as a full prune (admin socket, default retention) takes.
func (e *env) pruneUnderLoad(ctx context.Context, sr *ScaleReport) (Result, error) {
	r := Result{Scenario: ScenarioScale, Title: "scale: bearer during prune of " + count(sr.Expired) + " expired (p99 / 50 ms)",
		Target: atMost(1), Baseline: "p99 budget 50 ms"}
	c := newClient(e.opts.Concurrency)
	defer c.CloseIdleConnections()
	mk := e.bearerReq(e.live, e.tokens)
	stop := make(chan struct{})
	loaded := make(chan Stats, 1)
	go func() {
		loaded <- untilStopped(ctx, e.opts.Concurrency, stop, func(ctx context.Context, w int) error {
			return expect(ctx, c, mk(w), http.StatusOK, `"token_id"`)
		})
	}()
	var pruneErr error
	m := &meter{db: e.srv.Store().DB()}
	e.profile("scale-prune", m.wrap(func(time.Duration) Stats {
		t0 := time.Now()
		pruneErr = (server.Admin{DataDir: e.data}).Call(ctx, "prune", map[string]any{}, &sr.Pruned)
		sr.PruneTime = time.Since(t0)
		return Stats{}
	}).stats)
	close(stop)
	st := <-loaded
	if pruneErr != nil {
		return r, fmt.Errorf("prune: %w", pruneErr)
	}
	r.measured(st)
	r.judge(float64(st.P99) / float64(pruneP99Budget))
	r.Note = fmt.Sprintf("prune took %s; the bearer load ran for exactly that long; all writers meanwhile: %s",
		sr.PruneTime.Round(time.Millisecond), m)
	return r, nil
}

func fileSize(dir string) int64 {
	fi, err := os.Stat(filepath.Join(dir, store.FileName))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// write prints the scale figures; nothing for a run without scale.
func (sr *ScaleReport) write(w io.Writer, bullet string) error {
	if sr == nil {
		return nil
	}
	_, err := fmt.Fprintf(w, `%sscale: %s live + %s expired tokens seeded in %s; file %s = %.0f B per token (incl. indexes)
%sscale: store.Open %s, server.Start %s (page cache warm from seeding)
%sscale: memory before the scale server: %s
%sscale: after its start: %s
%sscale: with %s pending codes (created through the API in %s): %s
%sscale: prune of the expired rows took %s, deleted %v; file %s after (bbolt keeps freed pages)
%sscale: after the prune: %s; peak RSS %s (one process: both servers and the load generator)
`,
		bullet, count(sr.Live), count(sr.Expired), sr.Seeded.Round(time.Second), mib(sr.FileBytes), sr.BytesPerToken,
		bullet, sr.Opened.Round(time.Millisecond), sr.Started.Round(time.Millisecond),
		bullet, sr.MemBefore, bullet, sr.MemStarted,
		bullet, count(sr.Pending), sr.PendingTime.Round(time.Millisecond), sr.MemPending,
		bullet, sr.PruneTime.Round(time.Millisecond), sr.Pruned, mib(sr.FileAfter),
		bullet, sr.MemAfter, mib(sr.MemAfter.Peak))
	return err
}
