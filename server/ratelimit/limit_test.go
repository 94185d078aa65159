package ratelimit_test

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"gatehouse/server/ratelimit"
)

func TestLimitValidate(t *testing.T) {
	ip := []ratelimit.Scope{ratelimit.ScopeIP}
	cases := []struct {
		name string
		lim  ratelimit.Limit
		want string // "" means valid
	}{
		{"valid", ratelimit.Limit{Name: "device_code", Scopes: ip, Rate: 1, Burst: 5}, ""},
		{"zero rate", ratelimit.Limit{Name: "device_code", Scopes: ip, Burst: 5},
			`ratelimit: limit "device_code": rate must be > 0`},
		{"negative rate", ratelimit.Limit{Name: "x", Scopes: ip, Rate: -1, Burst: 5},
			`ratelimit: limit "x": rate must be > 0`},
		{"infinite rate", ratelimit.Limit{Name: "x", Scopes: ip, Rate: rate.Inf, Burst: 5},
			`ratelimit: limit "x": rate must be finite (set Disabled to turn a limit off)`},
		{"zero burst", ratelimit.Limit{Name: "login", Scopes: ip, Rate: 1},
			`ratelimit: limit "login": burst must be > 0`},
		{"disabled needs no rate or burst", ratelimit.Limit{Name: "x", Scopes: ip, Disabled: true}, ""},
		{"empty name", ratelimit.Limit{Scopes: ip, Rate: 1, Burst: 1},
			`ratelimit: limit "": name is empty`},
		{"no scopes", ratelimit.Limit{Name: "x", Rate: 1, Burst: 1},
			`ratelimit: limit "x": no scopes`},
		{"unknown scope", ratelimit.Limit{Name: "x", Scopes: []ratelimit.Scope{"planet"}, Rate: 1, Burst: 1},
			`ratelimit: limit "x": unknown scope "planet"`},
		{"global with others", ratelimit.Limit{Name: "x",
			Scopes: []ratelimit.Scope{ratelimit.ScopeGlobal, ratelimit.ScopeIP}, Rate: 1, Burst: 1},
			`ratelimit: limit "x": the global scope must stand alone`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.lim.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
			if !errors.Is(err, ratelimit.ErrInvalidLimit) {
				t.Fatalf("errors.Is(%v, ErrInvalidLimit) = false", err)
			}
		})
	}
}

func TestLimitKeyArity(t *testing.T) {
	cases := []struct {
		name   string
		scopes []ratelimit.Scope
		parts  []string
		ok     bool
	}{
		{"one scope one part", []ratelimit.Scope{ratelimit.ScopeIP}, []string{"a"}, true},
		{"two scopes two parts", []ratelimit.Scope{ratelimit.ScopeIP, ratelimit.ScopeSubjectEmail}, []string{"a", "b"}, true},
		{"global takes none", []ratelimit.Scope{ratelimit.ScopeGlobal}, nil, true},
		{"too few", []ratelimit.Scope{ratelimit.ScopeIP, ratelimit.ScopeAccount}, []string{"a"}, false},
		{"too many", []ratelimit.Scope{ratelimit.ScopeIP}, []string{"a", "b"}, false},
		{"global given one", []ratelimit.Scope{ratelimit.ScopeGlobal}, []string{"a"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lim := ratelimit.Limit{Name: "l", Scopes: tc.scopes, Rate: 1, Burst: 1}
			k, err := lim.Key(tc.parts...)
			if tc.ok != (err == nil) {
				t.Fatalf("Key(%q) error = %v, want ok=%v", tc.parts, err, tc.ok)
			}
			if !tc.ok && !errors.Is(err, ratelimit.ErrArity) {
				t.Fatalf("errors.Is(%v, ErrArity) = false", err)
			}
			if tc.ok && (k.Limit != "l" || len(k.Parts) != len(tc.parts)) {
				t.Fatalf("Key() = %+v", k)
			}
		})
	}
}

func TestWrongArityPanics(t *testing.T) {
	l := ratelimit.New(ratelimit.Config{})
	lim := perIP("x", 1, 1)
	ops := map[string]func(){
		"Allow":  func() { l.Allow(lim) },
		"Check":  func() { l.Check(lim, "a", "b") },
		"Charge": func() { l.Charge(lim) },
		"Allow on a disabled limit": func() {
			off := lim
			off.Disabled = true
			l.Allow(off)
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			defer func() {
				err, _ := recover().(error)
				if !errors.Is(err, ratelimit.ErrArity) {
					t.Fatalf("recovered %v, want an error matching ErrArity", err)
				}
			}()
			op()
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want int
	}{
		{0, 1},
		{-time.Second, 1},
		{time.Nanosecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{59500 * time.Millisecond, 60},
		{time.Hour, 3600},
	}
	for _, tc := range cases {
		if got := ratelimit.RetryAfterSeconds(tc.d); got != tc.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}
