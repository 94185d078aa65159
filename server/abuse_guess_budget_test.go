package server_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"gatehouse/server"
	"gatehouse/server/ratelimit"
)

// userCodes is 20^8, the number of possible user codes.
const userCodes = 25_600_000_000

// maxGuessesInWindow plays a greedy attacker against the budget on an
// injected clock: it guesses (wrongly) whenever Check lets it, for three
// lifetimes, and returns the most failures admitted in any closed window of
// length lifetime.
func maxGuessesInWindow(t *testing.T, lim ratelimit.Limit, lifetime time.Duration) int {
	t.Helper()
	c := newClock()
	l := ratelimit.New(ratelimit.Config{Now: c.Now})
	step := lifetime / 20_000
	var at []time.Time
	for range 3 * 20_000 {
		for {
			if ok, _ := l.Check(lim); !ok {
				break
			}
			l.Charge(lim)
			at = append(at, c.Now())
		}
		c.Advance(step)
	}
	most := 0
	for lo, hi := 0, 0; hi < len(at); hi++ {
		for at[hi].Sub(at[lo]) > lifetime {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

// TestGuessBudgetKeepsRFC8628Bound: in any window as long as a code's
// lifetime, the global budget admits few enough wrong guesses that the
// chance of hitting one of P pending codes stays below 2^-20.
func TestGuessBudgetKeepsRFC8628Bound(t *testing.T) {
	bound := math.Pow(2, -20)
	for _, p := range []int{1, 7, 100, 1000, 8000, 12_207, 12_208, 24_414} {
		for _, lifetime := range []time.Duration{30 * time.Second, 15 * time.Minute, 24 * time.Hour} {
			t.Run(fmt.Sprintf("P=%d T=%s", p, lifetime), func(t *testing.T) {
				lim := server.GuessBudget(p, lifetime)
				if err := lim.Validate(); err != nil {
					t.Fatal(err)
				}
				most := maxGuessesInWindow(t, lim, lifetime)
				if chance := float64(most) * float64(p) / userCodes; chance >= bound {
					t.Fatalf("%d wrong guesses admitted within one lifetime: chance %g (2^%.2f) ≥ 2^-20",
						most, chance, math.Log2(chance))
				}
				// A bucket admits floor(burst + rate·T) events in a window of T.
				fluid := math.Floor(float64(lim.Burst) + float64(lim.Rate)*lifetime.Seconds() + 1e-9)
				if fluid*float64(p)/userCodes >= bound {
					t.Fatalf("burst %d + rate·T %.3f = %.0f guesses per lifetime: chance %g ≥ 2^-20",
						lim.Burst, float64(lim.Rate)*lifetime.Seconds(), fluid, fluid*float64(p)/userCodes)
				}
				// The simulation is not vacuous: it finds (within one step's
				// rounding) the whole budget of 24 at P=1000.
				if want := userCodes / (p << 20); p == 1000 && most < want-1 {
					t.Fatalf("P=1000 admits %d guesses per lifetime, want about the whole budget of %d", most, want)
				}
			})
		}
	}
}

// TestTooManyPendingCodesStopsStartUp: past 24,414 pending codes no budget
// keeps the bound, and start-up says so by name.
func TestTooManyPendingCodesStopsStartUp(t *testing.T) {
	ok := server.Config{DataDir: t.TempDir(), DeviceCodeTTL: 15 * time.Minute, PollInterval: 5 * time.Second,
		TokenTTLDays: 14, ExternalTTLDays: 14, MaxPendingCodes: server.MaxPendingCodesLimit}
	if err := ok.Validate(); err != nil {
		t.Fatalf("P=%d (budget 1): %v", server.MaxPendingCodesLimit, err)
	}
	bad := ok
	bad.Limits, bad.MaxPendingCodes = server.Limits{}, server.MaxPendingCodesLimit+1
	err := bad.Validate()
	if !errors.Is(err, server.ErrGuessBudget) || !errors.Is(err, server.ErrConfig) {
		t.Fatalf("P=%d: Validate() = %v, want ErrGuessBudget wrapped in ErrConfig", bad.MaxPendingCodes, err)
	}
	lim := server.DefaultLimits(15*time.Minute, server.MaxPendingCodesLimit+1)
	if err := lim.Validate(); !errors.Is(err, server.ErrGuessBudget) {
		t.Fatalf("DefaultLimits(P too large).Validate() = %v, want ErrGuessBudget", err)
	}
}
