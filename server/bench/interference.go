package bench

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"
)

// The machine may be shared (CI runners, other test suites): a row taken
// while other processes used the CPUs is not comparable with its baseline.
// cpuSample reads, in clock ticks, the whole machine's busy and total time
// (/proc/stat) and this process's own (/proc/self/stat); the difference
// over a run is what other processes took.
type cpuSample struct {
	busy, total, self int64
	ok                bool
}

func sampleCPU() cpuSample {
	stat, err1 := os.ReadFile("/proc/stat")
	self, err2 := os.ReadFile("/proc/self/stat")
	if err1 != nil || err2 != nil {
		return cpuSample{}
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuSample{}
	}
	var s cpuSample
	for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
		n, _ := strconv.ParseInt(v, 10, 64)
		s.total += n
		if i != 3 && i != 4 {
			s.busy += n
		}
	}
	// /proc/self/stat: the command may hold spaces, so count from ')'.
	rest := string(self)[strings.LastIndexByte(string(self), ')')+1:]
	sf := strings.Fields(rest)
	if len(sf) < 13 {
		return cpuSample{}
	}
	ut, _ := strconv.ParseInt(sf[11], 10, 64)
	st, _ := strconv.ParseInt(sf[12], 10, 64)
	s.self, s.ok = ut+st, true
	return s
}

// cpuSince is the share of all CPUs this process and other processes used
// since s.
func cpuSince(s cpuSample) (self, others float64) {
	now := sampleCPU()
	if !s.ok || !now.ok || now.total <= s.total {
		return 0, 0
	}
	total := float64(now.total - s.total)
	own := now.self - s.self
	return float64(own) / total, max(float64(now.busy-s.busy-own)/total, 0)
}

// waitQuiet returns once other processes used under othersWarn of the CPUs
// for a whole second, or after max.
func waitQuiet(ctx context.Context, max time.Duration) {
	deadline := time.Now().Add(max)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		s := sampleCPU()
		if !sleepUntil(ctx, time.Now().Add(time.Second)) {
			return
		}
		if _, others := cpuSince(s); others <= othersWarn {
			return
		}
	}
}
