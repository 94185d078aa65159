package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadACSAnswer checks readACSAnswer's promise: only a 200 answer
// {"url": "<absolute http(s) URL>"} from a bounded body is accepted.
//
//   - any status but 200 is refused;
//   - the body is read through a bound: an endless body is refused after at
//     most maxACSAnswer+1 bytes, a body over maxACSAnswer is refused, and a
//     read error is refused;
//   - an accepted body is JSON, and the URL is at most maxACSURL bytes,
//     valid UTF-8, free of control characters (it goes into a Location
//     header), and absolute http(s) with a host, no userinfo, no fragment;
//   - an answer built from a fuzzed URL that passes that check is accepted
//     and returned unchanged.
func FuzzReadACSAnswer(f *testing.F) {
	for _, s := range []struct {
		status  int
		body    string
		endless bool
		failAt  int
	}{
		{200, `{"url":"https://idp.example.test/login?x=1"}`, false, -1},
		{200, `{"url":"http://idp.example.test"}`, false, -1},
		{200, `{"URL":"https://idp.example.test/","extra":[1,2,{"a":null}]}`, false, -1},
		{200, `{"url":"https://a.example/","url":"javascript:alert(1)"}`, false, -1},
		{200, `{"url":"javascript:alert(1)"}`, false, -1},
		{200, `{"url":"//evil.example/"}`, false, -1},
		{200, `{"url":"https:evil.example"}`, false, -1},
		{200, `{"url":"https://user:pw@idp.example.test/"}`, false, -1},
		{200, `{"url":"https://idp.example.test/#frag"}`, false, -1},
		{200, `{"url":"https://idp.example.test/\r\nSet-Cookie: x=1"}`, false, -1},
		{200, `{"url":"https://idp.example.test/\u0000"}`, false, -1},
		{200, `{"url":"https://:443/"}`, false, -1},
		{200, `{"url":"HTTPS://IDP.EXAMPLE.TEST/"}`, false, -1},
		{200, `{"url":"https://idp.example.test/` + strings.Repeat("a", maxACSURL) + `"}`, false, -1},
		{200, `{"url":"https://idp.example.test/"}`, true, -1},
		{200, `{"url":"https://idp.example.test/"}`, false, 10},
		{200, `{"url":"https://idp.example.test/"} trailing`, false, -1},
		{200, `{"url":42}`, false, -1},
		{200, `{"url":null}`, false, -1},
		{200, `["https://idp.example.test/"]`, false, -1},
		{200, "", false, -1},
		{200, "\xff\xfe{", false, -1},
		{200, `{"url":"https://idp.example.test/` + "\xff" + `"}`, false, -1},
		{302, `{"url":"https://idp.example.test/"}`, false, -1},
		{500, "oops", false, -1},
		{0, `{"url":"https://idp.example.test/"}`, false, -1},
	} {
		f.Add(s.status, []byte(s.body), uint16(0), s.endless, s.failAt, "https://idp.example.test/a?b=c")
	}
	// Bodies at and just over the bound, built from a pad length so the
	// inputs the fuzzer keeps stay small.
	ok := `{"url":"https://idp.example.test/"}`
	f.Add(200, []byte(ok), uint16(maxACSAnswer-len(ok)), false, -1, "")
	f.Add(200, []byte(ok), uint16(maxACSAnswer-len(ok)+1), false, -1, "")
	f.Add(200, []byte(ok), uint16(maxACSAnswer), false, maxACSAnswer, "")
	f.Fuzz(func(t *testing.T, status int, body []byte, pad uint16, endless bool, failAt int, rawURL string) {
		// Trailing white space is still JSON.
		body = append(body, bytes.Repeat([]byte{' '}, int(pad))...)
		src := &acsBody{data: body, endless: endless, failAt: failAt}
		got, err := readACSAnswer(&http.Response{StatusCode: status, Body: io.NopCloser(src)})
		if src.read > maxACSAnswer+1 {
			t.Fatalf("read %d bytes of the answer, over the bound %d", src.read, maxACSAnswer+1)
		}
		if err == nil {
			switch {
			case status != http.StatusOK:
				t.Fatalf("status %d accepted: %q", status, got)
			case endless:
				t.Fatalf("an endless body was accepted: %q", got)
			case failAt >= 0 && failAt <= len(body):
				t.Fatalf("a body that fails after %d bytes was accepted: %q", failAt, got)
			case len(body) > maxACSAnswer:
				t.Fatalf("a %d-byte body was accepted", len(body))
			case !json.Valid(body):
				t.Fatalf("a body that is not JSON was accepted: %q", body)
			}
			checkACSURL(t, got)
		} else if got != "" {
			t.Fatalf("error %v with url %q", err, got)
		}

		// An answer made of a fuzzed URL: accepted exactly when it is a
		// good one, and then unchanged.
		answer, err := json.Marshal(map[string]string{"url": rawURL})
		if err != nil {
			t.Fatal(err)
		}
		got, err = readACSAnswer(&http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(string(answer)))})
		// json.Marshal turns each byte of invalid UTF-8 into U+FFFD; want is
		// the URL as the answer carries it.
		var sent struct{ URL string }
		if err := json.Unmarshal(answer, &sent); err != nil {
			t.Fatal(err)
		}
		want := sent.URL
		// (The answer itself must fit the body bound too: json.Marshal
		// escapes <, > and & as six bytes each.)
		if good := acsURLProblem(want) == "" && len(answer) <= maxACSAnswer; good != (err == nil) {
			t.Fatalf("answer %s: readACSAnswer = %q, %v; the URL is good: %v (%s)", answer, got, err, good, acsURLProblem(want))
		}
		if err == nil && got != want {
			t.Fatalf("answer %s: got %q, want %q", answer, got, want)
		}
	})
}

func checkACSURL(t *testing.T, u string) {
	t.Helper()
	if p := acsURLProblem(u); p != "" {
		t.Fatalf("accepted url %q: %s", u, p)
	}
}

// acsURLProblem says what is wrong with u as a URL to send a browser to, or
// "" when nothing is.
func acsURLProblem(u string) string {
	if len(u) > maxACSURL {
		return "too long"
	}
	if !utf8.ValidString(u) {
		return "not UTF-8"
	}
	if strings.ContainsFunc(u, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "control character"
	}
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return err.Error()
	case !strings.EqualFold(p.Scheme, "http") && !strings.EqualFold(p.Scheme, "https"):
		return "scheme " + p.Scheme
	case p.Hostname() == "" || p.Opaque != "":
		// RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid and
		// a recipient must reject it; "https://:443/" has a Host but no
		// host name.
		return "no host"
	case p.User != nil:
		return "userinfo"
	case p.Fragment != "":
		return "fragment"
	}
	return ""
}

// acsBody serves data, then (endless) spaces forever; with failAt >= 0 it
// fails once failAt bytes were served. It counts what was read.
type acsBody struct {
	data    []byte
	endless bool
	failAt  int
	read    int
}

var errACSBody = errors.New("connection reset")

func (b *acsBody) Read(p []byte) (int, error) {
	if b.failAt >= 0 && b.read >= b.failAt {
		return 0, errACSBody
	}
	if b.failAt >= 0 && len(p) > b.failAt-b.read {
		p = p[:b.failAt-b.read]
	}
	n := 0
	if b.read < len(b.data) {
		n = copy(p, b.data[b.read:])
	} else if b.endless {
		for i := range p {
			p[i] = ' '
		}
		n = len(p)
	} else {
		return 0, io.EOF
	}
	b.read += n
	return n, nil
}
