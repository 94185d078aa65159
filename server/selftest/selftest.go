// Package selftest checks a running Gatehouse from the outside, the way a
// careful client would (most checks hold for any RFC 8628 server with RFC
// 8414 metadata; the bearer and header checks use Gatehouse's /v1/me and
// /device): the metadata, the device flow's answers up to the point where a
// person would have to approve, RFC 6750 bearer errors, RFC 7009
// revocation, RFC 7662 introspection's authentication, and the headers
// every answer must carry.
//
// It speaks only the wire contract and imports no project package, so it
// judges the server as a stranger would. The checks that need a person's
// decision (a token for an approved code, replay after success, the
// token's revocation, deny) run when an Approver account is given: the
// selftest then approves and denies its own codes through the console API.
// The expiry check runs with WaitExpiry, as it waits out a code's lifetime.
// A check that did not run is reported as skipped, never as passed.
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
	// Approver, when set, is the account that approves and denies the
	// selftest's own codes.
	Approver *Approver
	// WaitExpiry runs the expiry check, which takes a code's whole lifetime.
	WaitExpiry bool
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

// Failed counts the checks that ran and did not pass.
func (r Report) Failed() int {
	n := 0
	for _, res := range r.Results {
		if res.Err != nil && !IsSkipped(res.Err) {
			n++
		}
	}
	return n
}

// Skipped counts the checks that did not run.
func (r Report) Skipped() int {
	n := 0
	for _, res := range r.Results {
		if IsSkipped(res.Err) {
			n++
		}
	}
	return n
}

// Write prints one line per check and a summary.
func (r Report) Write(w io.Writer) {
	for _, res := range r.Results {
		switch {
		case res.Err == nil:
			fmt.Fprintf(w, "PASS  %-34s %s\n", res.Name, res.Spec)
		case IsSkipped(res.Err):
			fmt.Fprintf(w, "SKIP  %-34s %s: %v\n", res.Name, res.Spec, res.Err)
		default:
			fmt.Fprintf(w, "FAIL  %-34s %s: %v\n", res.Name, res.Spec, res.Err)
		}
	}
	ran := len(r.Results) - r.Skipped()
	fmt.Fprintf(w, "%d of %d checks passed", ran-r.Failed(), ran)
	if n := r.Skipped(); n > 0 {
		fmt.Fprintf(w, ", %d skipped", n)
	}
	fmt.Fprintln(w)
}

// check is one named edge case.
type check struct {
	name, spec string
	run        func(ctx context.Context, rn *runner) error
	long       bool // may take a code's lifetime
}

// Run runs every check in order. A check whose prerequisite failed (no
// metadata, no device code) fails too, saying why, instead of being
// skipped: a report with holes would read as a pass.
func Run(ctx context.Context, opt Options) Report {
	rn := newRunner(opt)
	var rep Report
	for _, c := range checks() {
		limit := 30 * time.Second
		if c.long {
			limit = 25 * time.Hour // the longest code lifetime a server allows, and then some
		}
		cctx, cancel := context.WithTimeout(ctx, limit)
		err := c.run(cctx, rn)
		cancel()
		rep.Results = append(rep.Results, Result{Name: c.name, Spec: c.spec, Err: err})
	}
	return rep
}

func checks() []check {
	return []check{
		{"metadata document", "RFC 8414 §3", checkMetadata, false},
		{"metadata fields", "RFC 8414 §2, RFC 8628 §4", checkMetadataFields, false},
		{"endpoints under the issuer", "RFC 8414 §2", checkEndpointsUnderIssuer, false},
		{"device authorization answer", "RFC 8628 §3.2", checkDeviceCodeShape, false},
		{"first poll not slowed", "RFC 8628 §3.5", checkFirstPoll, false},
		{"fast polls slowed, interval grows", "RFC 8628 §3.5", checkSlowDown, false},
		{"unknown device code", "RFC 8628 §3.5, RFC 6749 §5.2", checkUnknownCode, false},
		{"wrong grant_type", "RFC 6749 §5.2", checkWrongGrantType, false},
		{"missing grant_type", "RFC 6749 §4.1.3, §5.2", checkMissingGrantType, false},
		{"duplicate parameter", "RFC 6749 §3.1", checkDuplicateParam, false},
		{"unknown client", "RFC 6749 §5.2", checkUnknownClient, false},
		{"bearer without token", "RFC 6750 §3, §3.1", checkBearerMissing, false},
		{"bearer with junk token", "RFC 6750 §3.1", checkBearerJunk, false},
		{"revoke a junk token", "RFC 7009 §2.2", checkRevokeJunk, false},
		{"revoke without token", "RFC 7009 §2.1", checkRevokeMissing, false},
		{"introspection needs auth", "RFC 7662 §2.1", checkIntrospectAuth, false},
		{"security headers", "RFC 6749 §10.13, RFC 7034", checkSecurityHeaders, false},
		{"no-store on token answers", "RFC 6749 §5.1, RFC 8628 §3.2", checkNoStore, false},
		{"approved code yields a token", "RFC 8628 §3.5, RFC 6749 §5.1", checkApprovedToken, false},
		{"replay after success", "RFC 8628 §3.5, RFC 6749 §5.2", checkReplayAfterSuccess, false},
		{"token works, then revoked", "RFC 6750 §2.1, RFC 7009 §2", checkTokenLifecycle, false},
		{"denied code", "RFC 8628 §3.5", checkDenied, false},
		{"expired code", "RFC 8628 §3.5", checkExpired, true},
	}
}

// normalizeBase drops a trailing slash: issuers compare without one.
func normalizeBase(u string) string { return strings.TrimRight(u, "/") }
