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
// probability P/20^8; over a code's lifetime G guesses succeed with
// probability at most G·P/20^8. Keeping that below 2^-20 gives
//
//	G <= 20^8 / (P · 2^20) = 25,600,000,000 / (P · 1,048,576) ≈ 24,414 / P
//
// failed guesses per code lifetime: 24 with 1000 codes pending, 244 with 100.
// The budget refills at G per lifetime, with a burst of G.
func GuessBudget(maxPending int, lifetime time.Duration) ratelimit.Limit {
	g := int(userCodeSpace / (float64(max(maxPending, 1)) * (1 << 20)))
	g = max(g, 1)
	return ratelimit.Limit{Name: "guess_global", Scopes: []ratelimit.Scope{ratelimit.ScopeGlobal},
		Rate: rate.Limit(float64(g) / lifetime.Seconds()), Burst: g}
}

func perMinute(name string, scope ratelimit.Scope, n float64, burst int) ratelimit.Limit {
	return ratelimit.Limit{Name: name, Scopes: []ratelimit.Scope{scope}, Rate: rate.Limit(n / 60), Burst: burst}
}

// DefaultLimits are the shipped budgets.
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
		if err := f.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrConfig, err))
		}
	}
	return errors.Join(errs...)
}

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

// chargeGuess counts one wrong code against both budgets.
func (s *Server) chargeGuess(r *http.Request) {
	s.charge(s.cfg.Limits.GuessIP, s.ipKey(r))
	s.charge(s.cfg.Limits.GuessGlobal)
}

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
