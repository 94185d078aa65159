package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is one harness run.
type Report struct {
	Machine Machine      `json:"machine"`
	Options Options      `json:"options"`
	Started time.Time    `json:"started"`
	Results []Result     `json:"results"`
	Scale   *ScaleReport `json:"scale,omitempty"`
}

// Result is one row of the table: a scenario against its baseline.
type Result struct {
	Scenario   string        `json:"scenario"`
	Title      string        `json:"title"`
	Rate       float64       `json:"rate_per_s"`
	Requests   int           `json:"requests"`
	Errors     int           `json:"errors"`
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	Baseline   string        `json:"baseline"`
	BaseRate   float64       `json:"baseline_rate_per_s"`
	BaseP50    time.Duration `json:"baseline_p50_ns"`
	Ratio      float64       `json:"ratio"`
	Target     *Target       `json:"target,omitempty"`
	Met        *bool         `json:"met,omitempty"`
	Skipped    bool          `json:"skipped,omitempty"`
	Failed     bool          `json:"failed,omitempty"`
	Note       string        `json:"note,omitempty"`
	FirstError string        `json:"first_error,omitempty"`
	// Others is the share of all CPUs that other processes used while the
	// row was measured; above othersWarn the row is flagged.
	Others float64 `json:"other_processes_cpu"`
	// SelfCPU is the share of all CPUs this process (server, load generator
	// and baselines together) used meanwhile: headroom in paced rows.
	SelfCPU float64 `json:"harness_cpu"`
	// Attempt is which measurement of the row was kept (see Retries).
	Attempt int `json:"attempt,omitempty"`
}

// othersWarn is when other processes' CPU use makes a row unreliable.
const othersWarn = 0.05

// Target is a bound on Ratio: Op is ">=" or "<=".
type Target struct {
	Op    string  `json:"op"`
	Value float64 `json:"value"`
}

func atLeast(v float64) *Target { return &Target{Op: ">=", Value: v} }
func atMost(v float64) *Target  { return &Target{Op: "<=", Value: v} }

func (t *Target) String() string {
	if t == nil {
		return "-"
	}
	return t.Op + " " + strconv.FormatFloat(t.Value, 'f', -1, 64)
}

// judge sets Ratio and Met.
func (r *Result) judge(ratio float64) {
	r.Ratio = ratio
	if r.Target == nil || r.Skipped || r.Failed {
		return
	}
	met := ratio >= r.Target.Value
	if r.Target.Op == "<=" {
		met = ratio <= r.Target.Value
	}
	r.Met = &met
}

// measured copies a run's figures into the row.
func (r *Result) measured(st Stats) {
	r.Rate, r.Requests, r.Errors, r.P50, r.P99, r.FirstError = st.Rate(), st.Requests, st.Errors, st.P50, st.P99, st.FirstError
}

func (r *Result) against(name string, st Stats) {
	r.Baseline, r.BaseRate, r.BaseP50 = name, st.Rate(), st.P50
}

func (r Result) verdict() string {
	v := r.plainVerdict()
	if r.Others > othersWarn {
		v += " (noisy)"
	}
	return v
}

func (r Result) plainVerdict() string {
	switch {
	case r.Skipped:
		return "skipped"
	case r.Failed:
		return "failed"
	case r.Met == nil:
		return "-"
	case *r.Met:
		return "met"
	}
	return "MISSED"
}

var columns = []string{"scenario", "req/s", "p50", "p99", "errors", "baseline", "base req/s", "base p50", "ratio", "target", "verdict"}

func (r Result) cells() []string {
	if r.Skipped {
		return []string{r.Title, "-", "-", "-", "-", r.Baseline, "-", "-", "-", r.Target.String(), "skipped"}
	}
	return []string{r.Title, rate(r.Rate), dur(r.P50), dur(r.P99), strconv.Itoa(r.Errors), r.Baseline,
		rate(r.BaseRate), dur(r.BaseP50), strconv.FormatFloat(r.Ratio, 'f', 2, 64), r.Target.String(), r.verdict()}
}

// WriteTable prints the one table, then the notes and the scale figures.
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(columns, "\t")+"\t")
	for _, r := range rep.Results {
		fmt.Fprintln(tw, strings.Join(r.cells(), "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	rep.writeNotes(w, "")
	return rep.Scale.write(w, "")
}

// WriteMarkdown prints the same table as Markdown.
func (rep *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(columns, " | "), strings.Repeat("---|", len(columns)))
	for _, r := range rep.Results {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r.cells(), " | "))
	}
	rep.writeNotes(w, "- ")
	return rep.Scale.write(w, "- ")
}

// WriteJSON prints the whole report as JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func (rep *Report) writeNotes(w io.Writer, bullet string) {
	fmt.Fprintf(w, "\n%smachine: %d CPUs (GOMAXPROCS %d) %s, %s, Go %s, %s/%s\n", bullet, rep.Machine.CPUs, rep.Machine.GOMAXPROCS,
		rep.Machine.CPUModel, rep.Machine.MemTotal, rep.Machine.GoVersion, rep.Machine.OS, rep.Machine.Arch)
	fmt.Fprintf(w, "%srun: %s per measurement, concurrency %d, %d live tokens\n", bullet, rep.Options.Duration, rep.Options.Concurrency, rep.Options.Tokens)
	for _, r := range rep.Results {
		note := r.Note
		if r.FirstError != "" {
			note = joinNote(note, "first error: "+r.FirstError)
		}
		if r.Others > othersWarn {
			note = joinNote(note, fmt.Sprintf("UNRELIABLE: other processes used %.0f%% of the CPUs meanwhile", 100*r.Others))
		}
		if r.Attempt > 1 {
			note = joinNote(note, fmt.Sprintf("attempt %d kept (less disturbed)", r.Attempt))
		}
		if r.SelfCPU > 0 {
			note = joinNote(note, fmt.Sprintf("CPUs busy: %.0f%% this process, %.0f%% others", 100*r.SelfCPU, 100*r.Others))
		}
		if note != "" {
			fmt.Fprintf(w, "%s%s: %s\n", bullet, r.Scenario, note)
		}
	}
}

// rate formats a per-second figure with thousands separators.
func rate(v float64) string {
	if v <= 0 {
		return "-"
	}
	s := strconv.FormatInt(int64(v+0.5), 10)
	if v < 100 {
		s = strconv.FormatFloat(v, 'f', 1, 64)
	}
	for i := len(s) - 3; i > 0 && !strings.Contains(s, "."); i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// dur formats a latency to three significant digits.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
}

func count(n int) string { return rate(float64(n)) }

func mib(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }
