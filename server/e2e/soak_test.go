//go:build soak

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSoak runs the real server for GATEHOUSE_SOAK_DURATION (default 10m)
// under a steady mixed load of GATEHOUSE_SOAK_RATE sign-ins a second
// (default 25, each about six requests): flows started, approved and polled, tokens
// checked, re-logins rotating in place, revocations, and the scheduled prune
// (every 30 s, 1 min retention for tokens and audit events) deleting what the
// load leaves behind. Every
// 10 s it reports the server's RSS, the data file's size, requests and
// errors. It fails on any error, on memory that keeps growing, and on a file
// that keeps growing once prune runs. Outside CI: scripts/soak.sh.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(envOr("GATEHOUSE_SOAK_DURATION", "10m"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addOperator(t, dir)
	p := startServe(t, dir, "--prune-every", "30s", "--retention", "1m", "--audit-retention", "1m")
	defer p.kill()
	sess, err := p.signIn(opEmail, opPassword)
	if err != nil {
		t.Fatal(err)
	}
	rate, err := strconv.ParseFloat(envOr("GATEHOUSE_SOAK_RATE", "25"), 64)
	if err != nil || rate <= 0 {
		t.Fatalf("GATEHOUSE_SOAK_RATE: %v", err)
	}
	s := &soak{p: p, sess: sess, t: t}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const workers = 4
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() { defer wg.Done(); s.worker(w, time.Duration(float64(workers)/rate*float64(time.Second)), stop) }()
	}
	type sample struct {
		at       time.Duration
		rss      int
		file     int64
		requests int64
		errors   int64
	}
	var samples []sample
	start := time.Now()
	fmt.Printf("%8s %10s %12s %10s %7s\n", "elapsed", "rss_kib", "file_bytes", "requests", "errors")
	for time.Since(start) < d && !t.Failed() {
		time.Sleep(10 * time.Second)
		fi, _ := os.Stat(filepath.Join(dir, "gatehouse.db"))
		sm := sample{time.Since(start).Round(time.Second), rssKB(p.cmd.Process.Pid), fi.Size(), s.requests.Load(), s.errors.Load()}
		samples = append(samples, sm)
		fmt.Printf("%8s %10d %12d %10d %7d\n", sm.at, sm.rss, sm.file, sm.requests, sm.errors)
	}
	close(stop)
	wg.Wait()
	if out, code := runCLI("", "check", "--data-dir", dir); code != 0 {
		t.Errorf("check after the soak: %d %s", code, out)
	}
	if n := s.errors.Load(); n != 0 {
		t.Errorf("%d errors (first: %v)", n, s.firstErr.Load())
	}
	if len(samples) < 6 {
		return // too short to judge trends
	}
	third := len(samples) / 3
	avgRSS := func(ss []sample) int {
		sum := 0
		for _, s := range ss {
			sum += s.rss
		}
		return sum / len(ss)
	}
	mid, last := avgRSS(samples[third:2*third]), avgRSS(samples[2*third:])
	t.Logf("RSS middle third %d KiB, last third %d KiB; file %d -> %d bytes; %d requests",
		mid, last, samples[third].file, samples[len(samples)-1].file, samples[len(samples)-1].requests)
	if last > mid*13/10+10<<10 {
		t.Errorf("memory keeps growing: %d KiB on average in the middle third, %d KiB in the last", mid, last)
	}
	var midMax int64
	for _, s := range samples[third : 2*third] {
		midMax = max(midMax, s.file)
	}
	if end := samples[len(samples)-1].file; end > midMax {
		t.Errorf("the data file still grows in the last third (%d -> %d bytes) though prune runs", midMax, end)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

type soak struct {
	t        *testing.T
	p        *serveProc
	sess     console
	requests atomic.Int64
	errors   atomic.Int64
	firstErr atomic.Value
}

func (s *soak) fail(what string, r reply) {
	if s.errors.Add(1) == 1 {
		s.firstErr.Store(fmt.Sprintf("%s: %d %v %v", what, r.status, r.body, r.err))
	}
}

func (s *soak) want(what string, r reply, status int) bool {
	s.requests.Add(1)
	if r.err != nil || r.status != status {
		s.fail(what, r)
		return false
	}
	return true
}

// worker signs one of a few devices in every period, uses the token, and
// signs it out again or leaves it to be rotated by the next sign-in on that
// device.
func (s *soak) worker(w int, period time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		label := fmt.Sprintf("w%d-device-%d", w, i%8)
		r := s.p.startFlow(label)
		if !s.want("device/code", r, 200) {
			continue
		}
		if !s.want("approve", s.p.resolve(s.sess, "approve", r.str("user_code")), 200) {
			continue
		}
		tok := s.p.pollOnce(r.str("device_code"))
		if !s.want("poll", tok, 200) {
			continue
		}
		for range 3 {
			s.want("me", s.p.me(tok.str("access_token")), 200)
		}
		if i%3 == 0 {
			s.want("revoke", s.p.revokeSelf(tok.str("access_token")), 200)
		}
	}
}
