// Package ratelimit owns Gatehouse's in-memory request budgets: named token
// bucket limits (over golang.org/x/time/rate) keyed by composite scope values
// such as an IP, an email or a client id, with a hard cap on live keys.
//
// It keeps no state outside a Limiter, starts no goroutine unless Run is
// called, reads the clock only through Config.Now, and never logs: a key may
// hold an email address, so keys must never leave the package.
//
// Two ways to spend a budget:
//
//   - Allow consumes one token per request (request-rate limits);
//   - Check then Charge counts failures only: Check before the work refuses
//     a spent budget without consuming, Charge after a failure consumes one
//     token. Nothing gives tokens back early, so a success never refills a
//     failure budget.
//
// Calling Allow, Check or Charge with the wrong number of key parts for the
// limit is a programming error and panics with an error that matches
// ErrArity (like an out-of-range index). Limit.Key returns that error instead,
// for callers that would rather check.
package ratelimit

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/time/rate"
)

// Scope names what one part of a key is.
type Scope string

// The scopes a limit can be keyed by. ScopeGlobal takes no key part: the
// limit has one bucket shared by every caller.
const (
	ScopeIP           Scope = "ip"
	ScopeSession      Scope = "session"
	ScopeAccount      Scope = "account"
	ScopeSubjectEmail Scope = "subject_email"
	ScopeTokenID      Scope = "token_id"
	ScopeClientID     Scope = "client_id"
	ScopeGlobal       Scope = "global"
)

// Errors. A *LimitError matches ErrInvalidLimit.
var (
	ErrInvalidLimit = errors.New("ratelimit: invalid limit")
	ErrArity        = errors.New("ratelimit: wrong number of key parts")
)

// maxKeyBytes is the longest encoded key kept as is; longer keys (say, a
// hostile email address) are stored as their SHA-256 so memory stays bounded.
const maxKeyBytes = 256

// Limit is one named budget: Burst tokens, refilled at Rate per second.
// Each name has its own buckets; two limits never share a counter.
type Limit struct {
	Name     string
	Scopes   []Scope
	Rate     rate.Limit // events per second; rate.Every(d) converts an interval
	Burst    int
	Disabled bool // a disabled limit always allows and stores nothing
}

// LimitError says which limit is misconfigured and why.
type LimitError struct {
	Limit  string
	Reason string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("ratelimit: limit %q: %s", e.Limit, e.Reason)
}

// Is makes a *LimitError match ErrInvalidLimit.
func (e *LimitError) Is(target error) bool { return target == ErrInvalidLimit }

// Validate reports a misconfigured limit. Rate and Burst are only checked
// when the limit is enabled.
func (lim Limit) Validate() error {
	if reason := lim.problem(); reason != "" {
		return &LimitError{Limit: lim.Name, Reason: reason}
	}
	return nil
}

func (lim Limit) problem() string {
	if lim.Name == "" {
		return "name is empty"
	}
	if reason := scopesProblem(lim.Scopes); reason != "" {
		return reason
	}
	switch {
	case lim.Disabled:
		return ""
	case !(lim.Rate > 0):
		return "rate must be > 0"
	case lim.Rate >= rate.Inf: // rate.Inf is MaxFloat64; +Inf is above it
		return "rate must be finite (set Disabled to turn a limit off)"
	case lim.Burst <= 0:
		return "burst must be > 0"
	}
	return ""
}

func scopesProblem(scopes []Scope) string {
	if len(scopes) == 0 {
		return "no scopes"
	}
	for _, s := range scopes {
		if !s.known() {
			return fmt.Sprintf("unknown scope %q", s)
		}
		if s == ScopeGlobal && len(scopes) > 1 {
			return "the global scope must stand alone"
		}
	}
	return ""
}

func (s Scope) known() bool {
	switch s {
	case ScopeIP, ScopeSession, ScopeAccount, ScopeSubjectEmail,
		ScopeTokenID, ScopeClientID, ScopeGlobal:
		return true
	}
	return false
}

// Arity is how many key parts the limit takes: one per scope, none for a
// global limit.
func (lim Limit) Arity() int {
	if len(lim.Scopes) == 1 && lim.Scopes[0] == ScopeGlobal {
		return 0
	}
	return len(lim.Scopes)
}

// Key names one bucket: the limit's name and the values of its scopes, in
// the order of Limit.Scopes.
type Key struct {
	Limit string
	Parts []string
}

// Key builds the key for parts, or returns an error matching ErrArity when
// the number of parts does not match the limit's scopes.
func (lim Limit) Key(parts ...string) (Key, error) {
	if len(parts) != lim.Arity() {
		return Key{}, fmt.Errorf("%w: limit %q takes %d, got %d",
			ErrArity, lim.Name, lim.Arity(), len(parts))
	}
	return Key{Limit: lim.Name, Parts: parts}, nil
}

func (lim Limit) mustKey(parts []string) Key {
	k, err := lim.Key(parts...)
	if err != nil {
		panic(err)
	}
	return k
}

// encode is the map key: every field length-prefixed, so no choice of part
// values can make two different keys collide.
func (k Key) encode() string {
	var b strings.Builder
	writeField(&b, k.Limit)
	for _, p := range k.Parts {
		writeField(&b, p)
	}
	if b.Len() <= maxKeyBytes {
		return b.String()
	}
	sum := sha256.Sum256([]byte(b.String()))
	return "#" + string(sum[:]) // a plain key starts with a digit: no overlap
}

func writeField(b *strings.Builder, s string) {
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}
