// Package selftest checks a running Gatehouse from the outside, the way a
// careful client would (most checks hold for any RFC 8628 server with RFC
// 8414 metadata; the bearer and header checks use Gatehouse's /v1/me and
// /device): the metadata, the device flow's answers up to the point where a
// person would have to approve, RFC 6750 bearer errors, RFC 7009
// revocation, RFC 7662 introspection's authentication, and the headers
// every answer must carry.
//
// It speaks only the wire contract and imports no project package, so it
// judges the server as a stranger would. It never approves anything: the
// checks that need a person (replay after success, deny) are left to the
// end-to-end tests.
package selftest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Options say what to check.
type Options struct {
	BaseURL  string       // the issuer, e.g. https://gatehouse.example.com
	ClientID string       // a registered public client
	HTTP     *http.Client // default: 10 s timeout, no redirects followed
}

// Result is one check's outcome; Err is nil when it passed.
type Result struct {
	Name string
	Spec string
	Err  error
}

// Report is every check's result, in the order they ran.
type Report struct {
	Results []Result
}

// Failed counts the checks that did not pass.
func (r Report) Failed() int {
	n := 0
	for _, res := range r.Results {
		if res.Err != nil {
			n++
		}
	}
	return n
}

// Write prints one line per check and a summary.
func (r Report) Write(w io.Writer) {
	for _, res := range r.Results {
		if res.Err == nil {
			fmt.Fprintf(w, "PASS  %-34s %s\n", res.Name, res.Spec)
			continue
		}
		fmt.Fprintf(w, "FAIL  %-34s %s: %v\n", res.Name, res.Spec, res.Err)
	}
	total := len(r.Results)
	fmt.Fprintf(w, "%d of %d checks passed\n", total-r.Failed(), total)
}

// check is one named edge case.
type check struct {
	name, spec string
	run        func(ctx context.Context, rn *runner) error
}

// Run runs every check in order. A check whose prerequisite failed (no
// metadata, no device code) fails too, saying why, instead of being
// skipped: a report with holes would read as a pass.
func Run(ctx context.Context, opt Options) Report {
	rn := newRunner(opt)
	var rep Report
	for _, c := range checks() {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := c.run(cctx, rn)
		cancel()
		rep.Results = append(rep.Results, Result{Name: c.name, Spec: c.spec, Err: err})
	}
	return rep
}

func checks() []check {
	return []check{
		{"metadata document", "RFC 8414 §3", checkMetadata},
		{"metadata fields", "RFC 8414 §2, RFC 8628 §4", checkMetadataFields},
		{"endpoints under the issuer", "RFC 8414 §2", checkEndpointsUnderIssuer},
		{"device authorization answer", "RFC 8628 §3.2", checkDeviceCodeShape},
		{"first poll not slowed", "RFC 8628 §3.5", checkFirstPoll},
		{"fast polls slowed, interval grows", "RFC 8628 §3.5", checkSlowDown},
		{"unknown device code", "RFC 8628 §3.5, RFC 6749 §5.2", checkUnknownCode},
		{"wrong grant_type", "RFC 6749 §5.2", checkWrongGrantType},
		{"missing grant_type", "RFC 6749 §4.1.3, §5.2", checkMissingGrantType},
		{"duplicate parameter", "RFC 6749 §3.1", checkDuplicateParam},
		{"unknown client", "RFC 6749 §5.2", checkUnknownClient},
		{"bearer without token", "RFC 6750 §3, §3.1", checkBearerMissing},
		{"bearer with junk token", "RFC 6750 §3.1", checkBearerJunk},
		{"revoke a junk token", "RFC 7009 §2.2", checkRevokeJunk},
		{"revoke without token", "RFC 7009 §2.1", checkRevokeMissing},
		{"introspection needs auth", "RFC 7662 §2.1", checkIntrospectAuth},
		{"security headers", "RFC 6749 §10.13, RFC 7034", checkSecurityHeaders},
		{"no-store on token answers", "RFC 6749 §5.1, RFC 8628 §3.2", checkNoStore},
	}
}

// normalizeBase drops a trailing slash: issuers compare without one.
func normalizeBase(u string) string { return strings.TrimRight(u, "/") }
