package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Stats is what one load run measured: successful operations, failures and
// the latency of the successful ones, over the measured window only.
type Stats struct {
	Requests   int
	Errors     int
	Elapsed    time.Duration
	P50, P99   time.Duration
	FirstError string
	lat        []time.Duration
}

// Rate is successful operations per second of the measured window.
func (s Stats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// op is one request (or one flow) issued by worker w.
type op func(ctx context.Context, w int) error

// recorder is one worker's samples; workers never share one, so recording
// takes no lock.
type recorder struct {
	lat      []time.Duration
	errs     int
	firstErr error
}

func (r *recorder) note(d time.Duration, err error) {
	if err != nil {
		r.errs++
		if r.firstErr == nil {
			r.firstErr = err
		}
		return
	}
	r.lat = append(r.lat, d)
}

// window is the measured part of a run: samples that start before from are
// warm-up (connections, page cache, JIT-free but allocator-warm) and dropped.
type window struct{ from, to time.Time }

func newWindow(warm, d time.Duration) window {
	from := time.Now().Add(warm)
	return window{from: from, to: from.Add(d)}
}

// warmup is the unmeasured lead-in before each run.
func warmup(d time.Duration) time.Duration {
	return min(max(d/10, 100*time.Millisecond), time.Second)
}

// closedLoop runs fn back to back from conc workers until the window ends.
func closedLoop(ctx context.Context, conc int, d time.Duration, fn op) Stats {
	return closedLoopPrep(ctx, conc, d, nil, fn)
}

// closedLoopPrep is closedLoop with an untimed prep step before each
// operation (a wait for pacing, say).
func closedLoopPrep(ctx context.Context, conc int, d time.Duration, prep func(ctx context.Context, w int), fn op) Stats {
	return timedLoop(ctx, conc, d, func(ctx context.Context, w int) (time.Duration, error) {
		if prep != nil {
			prep(ctx, w)
		}
		t0 := time.Now()
		err := fn(ctx, w)
		return time.Since(t0), err
	})
}

// timedOp is an operation that reports its own latency (a flow that
// measures only part of itself).
type timedOp func(ctx context.Context, w int) (time.Duration, error)

// timedLoop runs fn back to back from conc workers, keeping the samples of
// operations that start inside the window.
func timedLoop(ctx context.Context, conc int, d time.Duration, fn timedOp) Stats {
	win := newWindow(warmup(d), d)
	recs := make([]recorder, conc)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(win.to) {
					return
				}
				lat, err := fn(ctx, w)
				if !t0.Before(win.from) {
					recs[w].note(lat, err)
				}
			}
		})
	}
	wg.Wait()
	return merge(recs, d)
}

// untilStopped runs fn back to back from conc workers until stop is closed,
// measuring from the first request: load kept up while something else runs.
func untilStopped(ctx context.Context, conc int, stop <-chan struct{}, fn op) Stats {
	recs := make([]recorder, conc)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				err := fn(ctx, w)
				recs[w].note(time.Since(t0), err)
			}
		})
	}
	wg.Wait()
	return merge(recs, time.Since(start))
}

// pacedLoop gives each of n slots (pending codes) its own loop that starts
// an operation at most once per interval, phases spread evenly over the
// interval. A slot whose operation outlasts the interval starts the next one
// at once, so a held poll never turns into a burst.
func pacedLoop(ctx context.Context, n int, interval, d time.Duration, fn op) Stats {
	win := newWindow(warmup(d), d)
	recs := make([]recorder, n)
	base := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			next := base.Add(time.Duration(i) * interval / time.Duration(n))
			for ctx.Err() == nil && next.Before(win.to) {
				if !sleepUntil(ctx, next) {
					return
				}
				t0 := time.Now()
				err := fn(ctx, i)
				if !t0.Before(win.from) && t0.Before(win.to) {
					recs[i].note(time.Since(t0), err)
				}
				next = t0.Add(interval)
			}
		})
	}
	wg.Wait()
	return merge(recs, d)
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// runner measures for d and returns what it saw.
type runner func(d time.Duration) Stats

// stats runs r once, for callers that time themselves.
func (r runner) stats() Stats { return r(0) }

// abSlice is the length of one slice of an alternated measurement.
const abSlice = time.Second

// alternate measures the baseline and Gatehouse in turns of abSlice, d of
// each in all, so that whatever else loads the machine meanwhile (a shared
// CI runner, another test suite) weighs on both alike and the ratio stays
// fair.
func alternate(d time.Duration, base, gate runner) (Stats, Stats) {
	rounds := max(int(d/abSlice), 1)
	slice := d / time.Duration(rounds)
	var bs, gs []Stats
	for range rounds {
		bs = append(bs, base(slice))
		gs = append(gs, gate(slice))
	}
	return mergeStats(bs), mergeStats(gs)
}

// mergeStats joins the slices of one alternated measurement.
func mergeStats(parts []Stats) Stats {
	var st Stats
	for _, p := range parts {
		st.lat = append(st.lat, p.lat...)
		st.Errors += p.Errors
		st.Elapsed += p.Elapsed
		if st.FirstError == "" {
			st.FirstError = p.FirstError
		}
	}
	st.Requests = len(st.lat)
	slices.Sort(st.lat)
	st.P50, st.P99 = quantile(st.lat, 0.50), quantile(st.lat, 0.99)
	return st
}

func merge(recs []recorder, elapsed time.Duration) Stats {
	st := Stats{Elapsed: elapsed}
	for _, r := range recs {
		st.lat = append(st.lat, r.lat...)
		st.Errors += r.errs
		if r.firstErr != nil && st.FirstError == "" {
			st.FirstError = r.firstErr.Error()
		}
	}
	st.Requests = len(st.lat)
	slices.Sort(st.lat)
	st.P50, st.P99 = quantile(st.lat, 0.50), quantile(st.lat, 0.99)
	return st
}

// quantile of sorted samples (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// newClient is a keep-alive client pool of up to conns connections to one
// host; every worker of a run shares it, as a real client fleet's proxy
// would share one.
func newClient(conns int) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// request is one HTTP call as the load generator sends it.
type request struct {
	method, url string
	ctype, body string
	header      map[string]string
	user, pass  string // HTTP Basic when user is set
}

// errStatus is an answer with an unexpected status or body.
var errStatus = errors.New("unexpected answer")

// send issues r and returns the status and body; the body is read to the
// end so the connection goes back to the pool.
func send(ctx context.Context, c *http.Client, r request) (int, []byte, http.Header, error) {
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return 0, nil, nil, err
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, resp.Header, err
}

// expect sends r and checks the status, and that the body holds marker
// when marker is set.
func expect(ctx context.Context, c *http.Client, r request, status int, marker string) error {
	got, body, _, err := send(ctx, c, r)
	if err != nil {
		return err
	}
	if got != status || marker != "" && !strings.Contains(string(body), marker) {
		return fmt.Errorf("%w: %s %s: %d %.120s", errStatus, r.method, strings.SplitN(r.url, "?", 2)[0], got, body)
	}
	return nil
}
