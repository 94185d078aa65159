package server

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzReadParams: any body in either encoding yields params or a 4xx
// apiError, never a panic, and accepted params are single-valued UTF-8.
func FuzzReadParams(f *testing.F) {
	seeds := []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "client_id=gatehouse-cli&device_label=laptop"},
		{"application/x-www-form-urlencoded", "a=1&a=2"},
		{"application/x-www-form-urlencoded", "%zz=%"},
		{"application/json", `{"client_id":"gatehouse-cli","n":1,"b":true,"z":null}`},
		{"application/json", `{"a":"1","a":"2"}`},
		{"application/json", `{"a":{"b":"c"}}`},
		{"application/json", `[1,2]`},
		{"application/json", `{"a":"1"} {"b":"2"}`},
		{"application/json; charset=utf-8", `{"a":"\u0000"}`},
		{"text/plain", "a=b"},
		{"application/json", strings.Repeat("[", 100)},
	}
	for _, s := range seeds {
		f.Add(s.ct, s.body)
	}
	f.Fuzz(func(t *testing.T, ct, body string) {
		r, err := http.NewRequest("POST", "/", strings.NewReader(body))
		if err != nil {
			return
		}
		r.Header.Set("Content-Type", ct)
		p, err := readParams(r)
		if err != nil {
			ae, ok := err.(*apiError)
			if !ok || ae.Status < 400 || ae.Status > 499 {
				t.Fatalf("error %v is not a 4xx apiError", err)
			}
			return
		}
		for k := range p {
			if k == "" && len(p) > 1<<20 {
				t.Fatal("unbounded")
			}
		}
	})
}

// FuzzLimitOverride: any --limit spec is applied or refused with
// ErrLimitSpec/ErrInvalidLimit; an applied one always validates.
func FuzzLimitOverride(f *testing.F) {
	for _, s := range []string{"device_code=60/1m:60", "bearer=off", "guess_ip=0/1s:1", "x=1/1s:1", "device_code=1/0s:1",
		"device_code=NaN/1s:1", "device_code=1/1s:-1", "device_code", "=", "device_code=1e308/1ns:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		l := DefaultLimits(DefaultDeviceCodeTTL, DefaultMaxPendingCodes)
		if err := l.Override(spec); err != nil {
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("override %q accepted but limits invalid: %v", spec, err)
		}
	})
}

func FuzzCleanLabel(f *testing.F) {
	for _, s := range []string{"laptop", "  x  ", "a\x00b", "\u2028", "ünïcödé", strings.Repeat("a", 200), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := cleanLabel(in, maxDeviceLabel)
		if !ok {
			return
		}
		if len(out) > maxDeviceLabel || strings.ContainsAny(out, "\x00\r\n\t") {
			t.Fatalf("cleanLabel(%q) = %q", in, out)
		}
	})
}
