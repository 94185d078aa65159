package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"gatehouse/server/ratelimit"
)

// TestHarnessSmoke runs every default scenario briefly so the harness
// cannot rot: each must run, answer without errors and fill its row. It
// asserts nothing about speed.
func TestHarnessSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and drives load for several seconds")
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Options{Duration: 300 * time.Millisecond, Concurrency: 4, Tokens: 1000,
		TempDir: t.TempDir(), Progress: &progress})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	if len(rep.Results) != len(DefaultScenarios) {
		t.Fatalf("%d results, want one per scenario (%d)", len(rep.Results), len(DefaultScenarios))
	}
	for i, r := range rep.Results {
		t.Run(r.Scenario, func(t *testing.T) {
			if r.Scenario != DefaultScenarios[i] {
				t.Errorf("row %d is %q, want %q", i, r.Scenario, DefaultScenarios[i])
			}
			if r.Failed {
				t.Fatalf("failed: %s", r.Note)
			}
			if r.Skipped {
				if r.Note == "" {
					t.Error("skipped without a note")
				}
				return
			}
			if r.Requests == 0 || r.Errors != 0 {
				t.Errorf("requests %d, errors %d (first: %s)", r.Requests, r.Errors, r.FirstError)
			}
			if r.Baseline == "" || r.Met == nil && r.Target != nil {
				t.Errorf("no baseline or verdict: %+v", r)
			}
		})
	}
	assertPrints(t, rep)
}

func assertPrints(t *testing.T, rep *Report) {
	t.Helper()
	var table, md, js bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, s := range DefaultScenarios {
		if !strings.Contains(table.String(), rowTitle(rep, s)) {
			t.Errorf("table lacks %s:\n%s", s, table.String())
		}
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != len(rep.Results) {
		t.Errorf("JSON report does not round-trip: %v", err)
	}
}

func rowTitle(rep *Report, scenario string) string {
	for _, r := range rep.Results {
		if r.Scenario == scenario {
			return r.Title
		}
	}
	return "<missing " + scenario + ">"
}

func TestRelaxedLimitsTurnsEveryLimitOff(t *testing.T) {
	cfg, err := benchConfig(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(cfg.Limits)
	for i := range v.NumField() {
		l, ok := v.Field(i).Interface().(ratelimit.Limit)
		if !ok || l.Name == "" || !l.Disabled {
			t.Errorf("limit %s = %+v, want a named limit turned off", v.Type().Field(i).Name, v.Field(i).Interface())
		}
	}
}

func TestOptionsRejectUnknownScenario(t *testing.T) {
	o := Options{Scenarios: []string{"bearer", "nope"}}
	if err := o.fill(); err == nil {
		t.Error("unknown scenario accepted")
	}
	o = Options{Scale: true}
	if err := o.fill(); err != nil || o.Scenarios[len(o.Scenarios)-1] != ScenarioScale {
		t.Errorf("--scale should add the scale scenario: %v %v", o.Scenarios, err)
	}
}

func TestQuantileNearestRank(t *testing.T) {
	s := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if q := quantile(s, 0.5); q != 5 {
		t.Errorf("p50 = %d, want 5", q)
	}
	if q := quantile(s, 0.99); q != 10 {
		t.Errorf("p99 = %d, want 10", q)
	}
	if q := quantile(nil, 0.5); q != 0 {
		t.Errorf("empty p50 = %d", q)
	}
}
