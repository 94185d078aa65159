// Package bench is Gatehouse's load generator: `gatehouse bench` starts a
// real server in-process on a temporary data directory and loopback, seeds
// it, drives HTTP load per scenario with a keep-alive client pool, and
// measures each scenario's baseline in the same run (a bare net/http handler
// answering the same bytes, bbolt Batch and Update loops on the same disk),
// so every figure is reported as a ratio that does not depend on the
// machine. The targets are those of issue 7; docs/BENCHMARKS.md holds a run.
//
// It must never be imported by the server: it reaches into the bbolt file
// only to seed fixtures (seed.go, clearly bench-only).
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options are `gatehouse bench`'s flags.
type Options struct {
	Duration    time.Duration // measured time per run (each scenario and each baseline)
	Concurrency int           // workers (and pooled connections)
	Tokens      int           // live tokens seeded for the bearer and introspection scenarios
	Scenarios   []string      // names; empty means DefaultScenarios
	// Scale adds the scale scenario: ScaleTokens live and as many expired
	// tokens, 100k pending codes, a prune under load. Minutes; not for CI.
	Scale       bool
	ScaleTokens int
	// QuietWait is how long to wait, before each scenario, for a second in
	// which other processes use under 5% of the CPUs; Retries is how many
	// times a row disturbed by other processes is measured again. Both
	// zero: measure once, whatever else runs (rows are still flagged).
	QuietWait time.Duration
	Retries   int
	// NoHoldPolls runs the server without held polls (serve holds them by
	// default). poll-max always runs without them: it measures the
	// immediate answer's capacity.
	NoHoldPolls bool
	// CPUProfileDir, when set, receives one CPU profile per scenario
	// (NAME.pprof), taken while Gatehouse is under load. The load generator
	// runs in the same process, so filter with -focus=gatehouse/server.
	CPUProfileDir string
	// TempDir is where the data directory and baseline files go (default:
	// the system temp dir); the disk under it is the disk measured.
	TempDir string
	// Progress receives one line per step; nil means silent.
	Progress io.Writer `json:"-"`
}

// Scenario names, in the order they run.
const (
	ScenarioBearer      = "bearer"
	ScenarioForwardAuth = "forward-auth"
	ScenarioIntrospect  = "introspect"
	ScenarioPoll        = "poll"
	ScenarioPollMax     = "poll-max"
	ScenarioCreate      = "create"
	ScenarioCreateStore = "create-store"
	ScenarioFlow        = "flow"
	ScenarioApproval    = "approval"
	ScenarioScale       = "scale"
)

// DefaultScenarios run when none are named; scale runs only when asked.
var DefaultScenarios = []string{ScenarioBearer, ScenarioForwardAuth, ScenarioIntrospect, ScenarioPoll, ScenarioPollMax,
	ScenarioCreate, ScenarioCreateStore, ScenarioFlow, ScenarioApproval}

// ErrOptions is a bad option value.
var ErrOptions = errors.New("bad bench option")

func (o *Options) fill() error {
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.Tokens <= 0 {
		o.Tokens = 100_000
	}
	if o.ScaleTokens <= 0 {
		o.ScaleTokens = 1_000_000
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = slices.Clone(DefaultScenarios)
	}
	if o.Scale && !slices.Contains(o.Scenarios, ScenarioScale) {
		o.Scenarios = append(o.Scenarios, ScenarioScale)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	known := append(slices.Clone(DefaultScenarios), ScenarioScale)
	for _, s := range o.Scenarios {
		if !slices.Contains(known, s) {
			return fmt.Errorf("%w: unknown scenario %q (known: %s)", ErrOptions, s, strings.Join(known, ", "))
		}
	}
	return nil
}

// Run executes the scenarios and returns the report. Each scenario that
// fails to run is reported with its error instead of stopping the others.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp(opts.TempDir, "gatehouse-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	rep := &Report{Machine: thisMachine(), Options: opts, Started: time.Now()}
	// The main server stays up through the scale scenario, which compares
	// its bearer figure with this one's, alternating between the two.
	e, err := startEnv(ctx, opts, filepath.Join(root, "main"), opts.Tokens, 0)
	if err != nil {
		return rep, err
	}
	defer e.close()
	for _, sc := range e.scenarios() {
		if slices.Contains(opts.Scenarios, sc.name) && ctx.Err() == nil {
			rep.Results = append(rep.Results, e.runQuietly(ctx, sc))
		}
	}
	if slices.Contains(opts.Scenarios, ScenarioScale) && ctx.Err() == nil {
		if err := runScale(ctx, opts, filepath.Join(root, "scale"), rep, e); err != nil {
			return rep, err
		}
	}
	return rep, ctx.Err()
}

// runQuietly runs a scenario, first waiting (up to QuietWait) for the
// machine to be quiet and running it again (up to Retries times) when other
// processes took the CPUs meanwhile; the least disturbed attempt is kept.
func (e *env) runQuietly(ctx context.Context, sc scenario) Result {
	var best Result
	for attempt := 0; attempt <= e.opts.Retries && ctx.Err() == nil; attempt++ {
		if e.opts.QuietWait > 0 {
			waitQuiet(ctx, e.opts.QuietWait)
		}
		e.logf("scenario %s (attempt %d)", sc.name, attempt+1)
		e.attempt = attempt + 1
		res := e.runOnce(ctx, sc)
		res.Attempt = e.attempt
		if attempt == 0 || res.Others < best.Others {
			best = res
		}
		if best.Others <= othersWarn || res.Failed {
			break
		}
	}
	return best
}

func (e *env) runOnce(ctx context.Context, sc scenario) Result {
	cpu := sampleCPU()
	res, err := sc.run(ctx)
	res.Scenario = sc.name
	res.SelfCPU, res.Others = cpuSince(cpu)
	if err != nil {
		res.Note = joinNote(res.Note, "failed: "+err.Error())
		res.Failed = true
	}
	return res
}

type scenario struct {
	name string
	run  func(context.Context) (Result, error)
}

func (e *env) scenarios() []scenario {
	return []scenario{
		{ScenarioBearer, e.bearer},
		{ScenarioForwardAuth, e.forwardAuth},
		{ScenarioIntrospect, e.introspect},
		{ScenarioPoll, e.pollPaced},
		{ScenarioPollMax, e.pollMax},
		{ScenarioCreate, e.create},
		{ScenarioCreateStore, e.createStore},
		{ScenarioFlow, e.flow},
		{ScenarioApproval, e.approval},
	}
}

// profile runs f with the CPU profiler on when a profile directory is set.
func (e *env) profile(name string, f func() Stats) Stats {
	if e.opts.CPUProfileDir == "" {
		return f()
	}
	if err := os.MkdirAll(e.opts.CPUProfileDir, 0o755); err != nil {
		e.logf("cpu profile: %v", err)
		return f()
	}
	if e.attempt > 1 {
		name += "-" + strconv.Itoa(e.attempt)
	}
	path := filepath.Join(e.opts.CPUProfileDir, name+".pprof")
	out, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(out)
	}
	if err != nil {
		e.logf("cpu profile: %v", err)
		return f()
	}
	st := f()
	pprof.StopCPUProfile()
	out.Close()
	e.logf("cpu profile written to %s", path)
	return st
}

// Machine describes where the figures were taken.
type Machine struct {
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model,omitempty"`
	GoVersion  string `json:"go_version"`
	MemTotal   string `json:"mem_total,omitempty"`
}

func thisMachine() Machine {
	return Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		CPUModel: procField("/proc/cpuinfo", "model name"), GoVersion: runtime.Version(), MemTotal: procField("/proc/meminfo", "MemTotal")}
}

// procField reads the first "name: value" line of a /proc file.
func procField(path, name string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Mem is this process's memory at one moment: resident set (VmRSS) split
// into anonymous memory (RssAnon: Go heap, stacks) and mapped file pages
// (RssFile: mostly the bbolt files, which the kernel may drop and re-read),
// the peak resident set (VmHWM), all from /proc/self/status, and the Go
// heap in use. One process holds the servers and the load generator.
type Mem struct {
	RSS  int64  `json:"rss_bytes"`
	Anon int64  `json:"rss_anon_bytes"`
	File int64  `json:"rss_file_bytes"`
	Peak int64  `json:"rss_peak_bytes"`
	Heap uint64 `json:"go_heap_inuse_bytes"`
}

// memNow collects garbage first (twice: sync.Pools, bbolt's page pool
// among them, survive one collection) and returns it to the system, so the
// figures are what is live, not what the seeding left behind.
func memNow() Mem {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f := func(name string) int64 { return kib(procField("/proc/self/status", name)) }
	return Mem{RSS: f("VmRSS"), Anon: f("RssAnon"), File: f("RssFile"), Peak: f("VmHWM"), Heap: ms.HeapInuse}
}

func (m Mem) String() string {
	return fmt.Sprintf("RSS %s (anon %s, file-backed %s; Go heap %s)", mib(m.RSS), mib(m.Anon), mib(m.File), mib(int64(m.Heap)))
}

func kib(v string) int64 {
	var n int64
	fmt.Sscanf(v, "%d", &n)
	return n * 1024
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
