package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadParams: any body in either encoding yields params or a 4xx
// apiError, never a panic. What it accepts is exactly what the body says:
// every key and value is there, once, as UTF-8 (checked against the
// standard library's own reading of the body), and nothing else is.
// The committed corpus is testdata/fuzz/FuzzReadParams.
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
		if len(body) > maxBody {
			t.Fatalf("accepted a %d-byte body, over the %d cap", len(body), maxBody)
		}
		mt, _, _ := mime.ParseMediaType(ct)
		var want map[string]string
		switch mt {
		case "application/x-www-form-urlencoded":
			want = formMeaning(t, body)
		case "application/json":
			want = jsonMeaning(t, body)
		default:
			t.Fatalf("accepted content type %q", ct)
		}
		if !maps.Equal(p, want) {
			t.Fatalf("readParams(%q, %q) = %q, but the body says %q", ct, body, p, want)
		}
		for k, v := range p {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("accepted invalid UTF-8: %q=%q", k, v)
			}
		}
	})
}

// formMeaning is what net/url reads from an accepted form body: every key
// must be there exactly once.
func formMeaning(t *testing.T, body string) map[string]string {
	vals, err := url.ParseQuery(body)
	if err != nil {
		t.Fatalf("accepted a form body net/url refuses: %v", err)
	}
	out := map[string]string{}
	for k, v := range vals {
		if len(v) != 1 {
			t.Fatalf("accepted %q given %d times", k, len(v))
		}
		out[k] = v[0]
	}
	return out
}

// jsonMeaning is what encoding/json reads from an accepted JSON body: one
// object of scalars, null meaning absent, numbers and booleans as text.
func jsonMeaning(t *testing.T, body string) map[string]string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil || m == nil {
		t.Fatalf("accepted a JSON body encoding/json refuses as an object: %v", err)
	}
	out := map[string]string{}
	for k, raw := range m {
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		switch v := v.(type) {
		case nil:
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		case bool:
			out[k] = strconv.FormatBool(v)
		default:
			t.Fatalf("accepted a %T value for %q", v, k)
		}
	}
	return out
}

// FuzzReadParamsRefusesRepeats: a parameter given twice, in either
// encoding and whatever its values, is invalid_request.
func FuzzReadParamsRefusesRepeats(f *testing.F) {
	f.Add("client_id", "a", "b", "device_label", "x")
	f.Add("user_code", "same", "same", "", "")
	f.Add("ü\x00", "", "\"", "k", "v")
	f.Fuzz(func(t *testing.T, key, v1, v2, otherKey, otherVal string) {
		if !utf8.ValidString(key) || !utf8.ValidString(v1) || !utf8.ValidString(v2) ||
			!utf8.ValidString(otherKey) || !utf8.ValidString(otherVal) {
			return
		}
		e := url.QueryEscape
		form := e(key) + "=" + e(v1) + "&" + e(otherKey) + "=" + e(otherVal) + "&" + e(key) + "=" + e(v2)
		js := "{" + jsonStr(key) + ":" + jsonStr(v1) + "," + jsonStr(otherKey) + ":" + jsonStr(otherVal) + "," + jsonStr(key) + ":" + jsonStr(v2) + "}"
		for ct, body := range map[string]string{"application/x-www-form-urlencoded": form, "application/json": js} {
			r, _ := http.NewRequest("POST", "/", strings.NewReader(body))
			r.Header.Set("Content-Type", ct)
			p, err := readParams(r)
			if err == nil {
				t.Fatalf("readParams(%s %q) = %q, want an error for the repeated %q", ct, body, p, key)
			}
			if ae, ok := err.(*apiError); !ok || ae.Status < 400 || ae.Status > 499 {
				t.Fatalf("error %v is not a 4xx apiError", err)
			}
		}
	})
}

func jsonStr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// FuzzClientID: the client credential parser (client_id in the body and/or
// HTTP Basic) answers an id or a 4xx apiError, never a panic. An accepted
// id is non-empty and bounded, agrees with the body when both are given,
// and is the body's when there is no Basic header.
func FuzzClientID(f *testing.F) {
	for _, s := range []struct{ auth, body string }{
		{"", "gatehouse-cli"},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("gatehouse-cli:")), ""},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("gatehouse-cli:")), "gatehouse-cli"},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("other:")), "gatehouse-cli"},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("gate%2Dhouse%zz:x")), ""},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("a", 200)+":")), ""},
		{"Basic !!!", "gatehouse-cli"},
		{"basic Z2F0ZWhvdXNlLWNsaTo=", ""},
		{"Bearer x", ""},
	} {
		f.Add(s.auth, s.body)
	}
	f.Fuzz(func(t *testing.T, auth, bodyID string) {
		r, _ := http.NewRequest("POST", "/", nil)
		r.Header.Set("Authorization", auth)
		p := params{}
		if bodyID != "" {
			p["client_id"] = bodyID
		}
		id, fromBasic, err := clientID(r, p)
		if err != nil {
			if ae, ok := err.(*apiError); !ok || ae.Status < 400 || ae.Status > 499 {
				t.Fatalf("error %v is not a 4xx apiError", err)
			}
			return
		}
		user, _, basic := r.BasicAuth()
		switch {
		case id == "" || len(id) > 128:
			t.Fatalf("accepted client id %q", id)
		case fromBasic != basic:
			t.Fatalf("fromBasic = %v, but BasicAuth says %v", fromBasic, basic)
		case !basic && id != bodyID:
			t.Fatalf("no Basic header, yet id %q differs from the body's %q", id, bodyID)
		case basic && bodyID != "" && id != bodyID:
			t.Fatalf("Basic and body disagree (%q vs %q), yet %q was accepted", user, bodyID, id)
		case basic && id != unescapeBasic(user):
			t.Fatalf("id %q is not the Basic user %q unescaped", id, user)
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
