package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// pendingCodes is how many codes the paced pending-poll scenario keeps.
const pendingCodes = 1000

// pollPaced: 1000 pending codes, each polled once per interval by its own
// loop, as 1000 well-behaved CLIs would. The offered load is therefore
// pendingCodes/interval; the baseline is the bare handler driven by the
// same schedule, and poll-max measures capacity.
func (e *env) pollPaced(ctx context.Context) (Result, error) {
	r := Result{Title: fmt.Sprintf("pending poll, %d codes each at its %s interval", pendingCodes, pollInterval), Target: atLeast(0.50)}
	codes, err := e.startFlows(ctx, pendingCodes+1, e.opts.Concurrency)
	if err != nil {
		return r, err
	}
	probeCode, codes := codes[pendingCodes], codes[:pendingCodes]
	c := newClient(pendingCodes)
	defer c.CloseIdleConnections()
	sh, err := probe(ctx, c, e.pollReq(probeCode.DeviceCode), http.StatusBadRequest)
	if err != nil {
		return r, err
	}
	bare, err := startBare(sh)
	if err != nil {
		return r, err
	}
	defer bare.Close()
	bc := newClient(pendingCodes)
	defer bc.CloseIdleConnections()
	base := pacedLoop(ctx, pendingCodes, pollInterval, e.opts.Duration, func(ctx context.Context, i int) error {
		return expect(ctx, bc, retarget(e.pollReq(codes[i].DeviceCode), e.url, bare.url), sh.status, "")
	})
	gate := e.profile(ScenarioPoll, func() Stats {
		return pacedLoop(ctx, pendingCodes, pollInterval, e.opts.Duration, func(ctx context.Context, i int) error {
			return expect(ctx, c, e.pollReq(codes[i].DeviceCode), http.StatusBadRequest, "authorization_pending")
		})
	})
	r.measured(gate)
	r.against(bareName(sh)+", same schedule", base)
	r.judge(gate.Rate() / base.Rate())
	r.Note = fmt.Sprintf("offered load is %d codes / %s = %.0f polls/s by construction (see poll-max for capacity)",
		pendingCodes, pollInterval, float64(pendingCodes)/pollInterval.Seconds())
	e.noteHeld(&r, gate)
	return r, nil
}

// noteHeld explains latencies near the interval: the server holds pending
// polls open (answering at once on approval) instead of answering at once.
func (e *env) noteHeld(r *Result, st Stats) {
	if st.P50 > pollInterval/2 {
		r.Note = joinNote(r.Note, "pending polls are held open (p50 near the interval): throughput is bounded by held connections, not CPU")
	}
}

// pollMax: closed-loop pending polls at the given concurrency over enough
// pending codes that no code is polled more often than its interval
// (RFC 8628 §3.5 pacing), so no answer is slow_down: the capacity figure.
func (e *env) pollMax(ctx context.Context) (Result, error) {
	r := Result{Title: "pending poll, closed loop, no holding", Target: atLeast(0.50)}
	if !e.opts.NoHoldPolls {
		// A held poll lasts the interval by design, so a closed loop would
		// measure the interval. Capacity is that of the immediate answer.
		if err := e.restart(false); err != nil {
			return r, err
		}
		defer func() {
			if err := e.restart(true); err != nil {
				e.logf("restart with held polls: %v", err)
			}
		}()
	}
	conc := e.opts.Concurrency
	c := newClient(conc)
	defer c.CloseIdleConnections()
	first, err := e.startFlow(ctx, c, "pending-poll")
	if err != nil {
		return r, err
	}
	sh, err := probe(ctx, c, e.pollReq(first.DeviceCode), http.StatusBadRequest)
	if err != nil {
		return r, err
	}
	bare, done, err := e.bareRunner(ctx, sh, func(int) request { return e.pollReq(first.DeviceCode) })
	if err != nil {
		return r, err
	}
	defer done()
	// Measured first, to size the set of codes: no alternation here.
	base := bare(e.opts.Duration)
	// Enough codes that even at the bare rate each is polled at most once
	// per interval, within a bound on set-up time.
	n := int(min(max(base.Rate()*pollInterval.Seconds()*1.1, pendingCodes), float64(conc*500)))
	r.Title = fmt.Sprintf("pending poll, closed loop over %s codes, no holding", count(n))
	codes, err := e.startFlows(ctx, n, conc)
	if err != nil {
		return r, err
	}
	pace := newPacer(n, conc)
	gate := e.profile(ScenarioPollMax, func() Stats {
		return closedLoopPrep(ctx, conc, e.opts.Duration, pace.next, func(ctx context.Context, w int) error {
			return expect(ctx, c, e.pollReq(codes[pace.cur[w]].DeviceCode), http.StatusBadRequest, "authorization_pending")
		})
	})
	r.measured(gate)
	r.against(bareName(sh), base)
	r.judge(gate.Rate() / base.Rate())
	if w := pace.waits.Load(); w > 0 {
		r.Note = fmt.Sprintf("workers waited %d times for a code's interval: the figure is bounded by %d codes / %s", w, n, pollInterval)
	}
	return r, nil
}

// pacer hands each worker its own codes round-robin and waits (untimed)
// until the next one's interval has passed since its last poll.
type pacer struct {
	conc  int
	n     int
	cur   []int       // code each worker polls next
	last  []time.Time // last poll per code
	waits atomic.Int64
}

func newPacer(n, conc int) *pacer {
	p := &pacer{conc: conc, n: n, cur: make([]int, conc), last: make([]time.Time, n)}
	for w := range p.cur {
		p.cur[w] = w - conc // the first next() moves to w
	}
	return p
}

func (p *pacer) next(ctx context.Context, w int) {
	i := p.cur[w] + p.conc
	if i >= p.n {
		i = w
	}
	p.cur[w] = i
	if due := p.last[i].Add(pollInterval); time.Now().Before(due) {
		p.waits.Add(1)
		sleepUntil(ctx, due)
	}
	p.last[i] = time.Now()
}
