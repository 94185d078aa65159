package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"gatehouse/server/ratelimit"
	"gatehouse/tokens"
)

// Limits are the named request budgets. Each is its own set of buckets.
type Limits struct {
	DeviceCode      ratelimit.Limit // flows started, per client IP
	GuessIP         ratelimit.Limit // failed code lookups/approvals, per client IP
	GuessGlobal     ratelimit.Limit // failed code lookups/approvals, everyone together
	ApproveAccount  ratelimit.Limit // approve/deny, per account
	ApproveSession  ratelimit.Limit // approve/deny, per session
	ApproveExternal ratelimit.Limit // SSO approve/deny, per subject email
	Bearer          ratelimit.Limit // bearer routes, per token id
	SignInIP        ratelimit.Limit // failed sign-ins, per client IP
	SignInEmail     ratelimit.Limit // failed sign-ins, per email
	SSOInitiate     ratelimit.Limit // SSO hand-offs started (each calls the ACS), per client IP
	IntrospectAuth  ratelimit.Limit // failed resource-server credentials on introspection, per client IP
}

// userCodeSpace is the number of possible user codes: 20^8.
var userCodeSpace = math.Pow(float64(len(tokens.UserCodeAlphabet)), tokens.UserCodeLength)

// GuessBudget sizes the global failed-guess budget from RFC 8628 §5.1.
// With P codes pending at once, one wrong guess hits a live code with
// probability P/20^8, so G guesses within a code's lifetime T hit one with
// probability at most G·P/20^8. Keeping that below 2^-20 gives
//
//	G = floor(20^8 / (P · 2^20)) = floor(25,600,000,000 / (P · 1,048,576)) = floor(24,414.06 / P)
//
// guesses in any window of length T: 24 with 1000 codes pending, 244 with
// 100. A token bucket admits burst + rate·T events in such a window, so
// the budget is split: a burst of ceil(G/2) and a refill of floor(G/2) per
// T (12 and 12 at P=1000, 24 in any window: 24·1000/20^8 = 2^-20.03).
// With G = 1 the refill is one per 2T, so a window still holds only one.
//
// The attacker's own pending codes do not count in P: guessing them wins
// nothing. P is the operator's figure for real users' codes at once.
//
// When P > 24,414 (MaxPendingCodesLimit), G would be below 1: no budget
// keeps the bound. The limit is then returned with zero rate and burst, and
// Limits.Validate stops start-up with ErrGuessBudget.
func GuessBudget(maxPending int, lifetime time.Duration) ratelimit.Limit {
	lim := ratelimit.Limit{Name: "guess_global", Scopes: []ratelimit.Scope{ratelimit.ScopeGlobal}}
	g := guessesPerLifetime(maxPending)
	if g < 1 {
		return lim
	}
	burst, refill := (g+1)/2, float64(g/2)
	if refill == 0 {
		refill = 0.5 // G = 1: one guess back every 2T
	}
	lim.Rate, lim.Burst = rate.Limit(refill/lifetime.Seconds()), burst
	return lim
}

// guessesPerLifetime is G above (0 when P is too large for any budget).
func guessesPerLifetime(maxPending int) int {
	return int(userCodeSpace / (float64(max(maxPending, 1)) * (1 << 20)))
}

// ErrGuessBudget: --max-pending-codes is so large that even one wrong
// guess per code lifetime would break the 2^-20 bound.
var ErrGuessBudget = errors.New("--max-pending-codes leaves no room for a failed-guess budget")

// MaxPendingCodesLimit is the largest --max-pending-codes with a budget of
// at least one guess per code lifetime.
var MaxPendingCodesLimit = int(userCodeSpace / (1 << 20))

func perMinute(name string, scope ratelimit.Scope, n float64, burst int) ratelimit.Limit {
	return ratelimit.Limit{Name: name, Scopes: []ratelimit.Scope{scope}, Rate: rate.Limit(n / 60), Burst: burst}
}

// DefaultLimits are the shipped budgets. A maxPending too large for any
// guess budget leaves GuessGlobal unsized, which Validate reports.
func DefaultLimits(codeTTL time.Duration, maxPending int) Limits {
	return Limits{
		DeviceCode:      perMinute("device_code", ratelimit.ScopeIP, 60, 60),
		GuessIP:         perMinute("guess_ip", ratelimit.ScopeIP, 6, 20),
		GuessGlobal:     GuessBudget(maxPending, codeTTL),
		ApproveAccount:  perMinute("approve_account", ratelimit.ScopeAccount, 30, 20),
		ApproveSession:  perMinute("approve_session", ratelimit.ScopeSession, 30, 20),
		ApproveExternal: perMinute("approve_external", ratelimit.ScopeSubjectEmail, 30, 20),
		Bearer:          perMinute("bearer", ratelimit.ScopeTokenID, 6000, 600),
		SignInIP:        perMinute("signin_ip", ratelimit.ScopeIP, 10, 20),
		SignInEmail:     perMinute("signin_email", ratelimit.ScopeSubjectEmail, 5, 10),
		SSOInitiate:     perMinute("sso_initiate", ratelimit.ScopeIP, 30, 30),
		IntrospectAuth:  perMinute("introspect_auth_ip", ratelimit.ScopeIP, 10, 20),
	}
}

// fields lists the limits with pointers, so overrides and validation walk
// one list.
func (l *Limits) fields() []*ratelimit.Limit {
	return []*ratelimit.Limit{&l.DeviceCode, &l.GuessIP, &l.GuessGlobal, &l.ApproveAccount, &l.ApproveSession,
		&l.ApproveExternal, &l.Bearer, &l.SignInIP, &l.SignInEmail, &l.SSOInitiate, &l.IntrospectAuth}
}

// Validate names every misconfigured limit.
func (l *Limits) Validate() error {
	var errs []error
	for _, f := range l.fields() {
		if f == &l.GuessGlobal && unsized(*f) {
			errs = append(errs, fmt.Errorf("%w: %w: with more than %d codes pending at once, even one wrong guess per code lifetime breaks RFC 8628's 2^-20 (20^8/(P·2^20) < 1); lower --max-pending-codes",
				ErrConfig, ErrGuessBudget, MaxPendingCodesLimit))
			continue
		}
		if err := f.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrConfig, err))
		}
	}
	return errors.Join(errs...)
}

// unsized is GuessBudget's answer when no budget keeps the bound.
func unsized(lim ratelimit.Limit) bool { return !lim.Disabled && lim.Rate == 0 && lim.Burst == 0 }

// ErrLimitSpec is a malformed --limit override.
var ErrLimitSpec = errors.New("bad --limit")

// Override applies one --limit spec: NAME=off, or NAME=N/PERIOD:BURST
// (e.g. device_code=60/1m:60).
func (l *Limits) Override(spec string) error {
	name, val, ok := strings.Cut(spec, "=")
	if !ok {
		return fmt.Errorf("%w %q: want NAME=N/PERIOD:BURST or NAME=off", ErrLimitSpec, spec)
	}
	for _, f := range l.fields() {
		if f.Name == name {
			return applyLimitSpec(f, val)
		}
	}
	return fmt.Errorf("%w %q: unknown limit %q", ErrLimitSpec, spec, name)
}

func applyLimitSpec(f *ratelimit.Limit, val string) error {
	if val == "off" {
		f.Disabled = true
		return nil
	}
	rateSpec, burstSpec, ok := strings.Cut(val, ":")
	nSpec, periodSpec, ok2 := strings.Cut(rateSpec, "/")
	n, err1 := strconv.ParseFloat(nSpec, 64)
	period, err2 := time.ParseDuration(periodSpec)
	burst, err3 := strconv.Atoi(burstSpec)
	if !ok || !ok2 || err1 != nil || err2 != nil || err3 != nil || period <= 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return fmt.Errorf("%w %s=%q: want N/PERIOD:BURST, e.g. 60/1m:60", ErrLimitSpec, f.Name, val)
	}
	f.Rate, f.Burst, f.Disabled = rate.Limit(n/period.Seconds()), burst, false
	return f.Validate()
}

// errRateLimited is the 429 every budget answers with.
func errRateLimited(retry time.Duration) error {
	secs := ratelimit.RetryAfterSeconds(retry)
	return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
		Description: "too many requests; retry after " + strconv.Itoa(secs) + " seconds", RetryAfter: secs}
}

// allow spends one request from a budget, or answers 429.
func (s *Server) allow(lim ratelimit.Limit, parts ...string) error {
	if ok, retry := s.limiter.Allow(lim, parts...); !ok {
		s.metrics.limited(lim.Name)
		return errRateLimited(retry)
	}
	return nil
}

// checkFailures refuses a request whose failure budget is spent, without
// spending it; charge spends it after a failure.
func (s *Server) checkFailures(lim ratelimit.Limit, parts ...string) error {
	if ok, retry := s.limiter.Check(lim, parts...); !ok {
		s.metrics.limited(lim.Name)
		return errRateLimited(retry)
	}
	return nil
}

func (s *Server) charge(lim ratelimit.Limit, parts ...string) { s.limiter.Charge(lim, parts...) }

// checkGuess guards code lookups and approvals: the caller's and the
// global failure budgets must both have room.
func (s *Server) checkGuess(r *http.Request) error {
	if err := s.checkFailures(s.cfg.Limits.GuessIP, s.ipKey(r)); err != nil {
		return err
	}
	return s.checkFailures(s.cfg.Limits.GuessGlobal)
}

// chargeGuess counts one well-formed code that matches no live code
// against both budgets: only such a guess could have hit a pending code, so
// only it spends the global budget sized from RFC 8628 §5.1.
func (s *Server) chargeGuess(r *http.Request) {
	s.charge(s.cfg.Limits.GuessIP, s.ipKey(r))
	s.charge(s.cfg.Limits.GuessGlobal)
}

// chargeUnknown charges a well-formed code that matched no stored code: a
// guess, unless its token was handed out recently (a reloaded link).
func (s *Server) chargeUnknown(r *http.Request, code string) {
	if s.spent.has(code, s.now()) {
		s.chargeMiss(r)
		return
	}
	s.chargeGuess(r)
}

// chargeMiss counts a failure that could not have been a hit (a malformed
// code, one that exists but is decided or expired, or one already spent) against the
// caller's own budget only, so typos and stale links do not drain the one
// budget everybody shares.
func (s *Server) chargeMiss(r *http.Request) { s.charge(s.cfg.Limits.GuessIP, s.ipKey(r)) }

// ipKey is the rate-limit key of the client address (IPv6 per /64).
func (s *Server) ipKey(r *http.Request) string { return ratelimit.IPKey(s.ips.ClientIP(r)) }

// clientIP is the client address as audit records and pages show it.
func (s *Server) clientIP(r *http.Request) string {
	a := s.ips.ClientIP(r)
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// https reports whether this request reached us over TLS (directly, or via
// a trusted proxy that says so).
func (s *Server) https(r *http.Request) bool { return s.cfg.secure() || s.ips.IsHTTPS(r) }
