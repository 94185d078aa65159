package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxBody caps every request body Gatehouse reads.
const maxBody = 16 << 10

// params is a flat set of single-valued string parameters.
type params map[string]string

var (
	errBadContentType = oauthErr("invalid_request", "send application/x-www-form-urlencoded or application/json")
	errDuplicate      = oauthErr("invalid_request", "a parameter was given more than once")
	errBodyTooLarge   = statusErr(http.StatusRequestEntityTooLarge, "invalid_request", "request body too large")
	errMalformedBody  = oauthErr("invalid_request", "malformed request body")
)

// readParams reads a form-encoded or JSON request body into params. JSON must
// be one flat object of strings (null counts as absent); a parameter given
// twice, in either encoding, is invalid_request. Unknown parameters are kept
// and ignored by callers.
func readParams(r *http.Request) (params, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, errBadContentType
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		return parseForm(body)
	case "application/json":
		return parseJSONObject(body)
	}
	return nil, errBadContentType
}

// readOptionalParams is readParams for a route whose body may be absent: no
// Content-Type and an empty body are no params; any body sent must parse.
func readOptionalParams(r *http.Request) (params, error) {
	if r.Header.Get("Content-Type") != "" {
		return readParams(r)
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		return nil, errBadContentType
	}
	return params{}, nil
}

func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errMalformedBody
	}
	if len(body) > maxBody {
		return nil, errBodyTooLarge
	}
	return body, nil
}

// parseForm parses a urlencoded body, refusing duplicates and invalid UTF-8.
func parseForm(body []byte) (params, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errMalformedBody
	}
	return flatten(vals)
}

func flatten(vals url.Values) (params, error) {
	p := make(params, len(vals))
	for k, v := range vals {
		if len(v) != 1 {
			return nil, errDuplicate
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v[0]) {
			return nil, errMalformedBody
		}
		p[k] = v[0]
	}
	return p, nil
}

// parseJSONObject parses {"k":"v",...} with a streaming decoder so duplicate
// keys and nesting are seen and refused (depth is therefore bounded at 1).
func parseJSONObject(body []byte) (params, error) {
	if !utf8.Valid(body) {
		return nil, errMalformedBody
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errMalformedBody
	}
	p := params{}
	for dec.More() {
		key, val, err := nextPair(dec)
		if err != nil {
			return nil, err
		}
		if _, dup := p[key]; dup {
			return nil, errDuplicate
		}
		if val != nil {
			p[key] = *val
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errMalformedBody
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errMalformedBody
	}
	return p, nil
}

// nextPair reads one "key": value; the value must be a string, number,
// boolean or null (numbers and booleans keep their JSON text).
func nextPair(dec *json.Decoder) (string, *string, error) {
	kt, err := dec.Token()
	key, ok := kt.(string)
	if err != nil || !ok {
		return "", nil, errMalformedBody
	}
	vt, err := dec.Token()
	if err != nil {
		return "", nil, errMalformedBody
	}
	var s string
	switch v := vt.(type) {
	case string:
		s = v
	case json.Number:
		s = v.String()
	case bool:
		s = "false"
		if v {
			s = "true"
		}
	case nil:
		return key, nil, nil
	default:
		return "", nil, oauthErr("invalid_request", "parameter "+safeName(key)+" must be a string")
	}
	return key, &s, nil
}

// safeName keeps an echoed parameter name short and plain.
func safeName(k string) string {
	if len(k) > 32 || strings.ContainsFunc(k, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		return "(a parameter)"
	}
	return k
}

// queryParam reads a single-valued query parameter; a repeat is an error.
func queryParam(r *http.Request, name string) (string, error) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", oauthErr("invalid_request", "malformed query string")
	}
	v := vals[name]
	if len(v) > 1 {
		return "", errDuplicate
	}
	if len(v) == 0 {
		return "", nil
	}
	return v[0], nil
}

// cleanLabel validates a free-text field shown to people (device labels):
// bounded, valid UTF-8, no control characters.
func cleanLabel(s string, max int) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > max || !utf8.ValidString(s) {
		return "", false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return "", false
		}
	}
	return s, true
}
