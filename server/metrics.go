package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the Prometheus surface of one Server. Its registry is a field,
// not the package default, so two servers in one process (tests) never share
// counters. Every method is safe on a nil *metrics: the admin service also
// runs without a server (direct file access), where nothing is exported.
type metrics struct {
	reg           *prometheus.Registry
	codesIssued   prometheus.Counter
	polls         *prometheus.CounterVec
	resolutions   *prometheus.CounterVec
	tokenEvents   *prometheus.CounterVec
	bearerChecks  *prometheus.CounterVec
	rateLimited   *prometheus.CounterVec
	introspection *prometheus.CounterVec
	requests      *prometheus.HistogramVec
	handler       http.Handler
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.codesIssued = prometheus.NewCounter(prometheus.CounterOpts{Name: "gatehouse_device_codes_issued_total",
		Help: "Device codes handed out (RFC 8628 §3.2)."})
	m.polls = counterVec("gatehouse_polls_total", "Token endpoint polls by outcome (success or the OAuth error code).", "outcome")
	m.resolutions = counterVec("gatehouse_resolutions_total", "Codes approved or denied, by branch (local, sso).", "branch", "decision")
	m.tokenEvents = counterVec("gatehouse_tokens_total", "Token lifecycle events: minted, rotated, revoked, hard_expired.", "event")
	m.bearerChecks = counterVec("gatehouse_bearer_checks_total", "Bearer token checks by outcome.", "outcome")
	m.rateLimited = counterVec("gatehouse_rate_limited_total", "Requests refused by a rate limit, by limit name.", "limit")
	m.introspection = counterVec("gatehouse_introspections_total", "Introspection answers by outcome.", "outcome")
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_http_request_duration_seconds",
		Help: "HTTP request latency by route pattern (never the raw path), method and status.", Buckets: prometheus.DefBuckets},
		[]string{"route", "method", "code"})
	m.reg.MustRegister(m.codesIssued, m.polls, m.resolutions, m.tokenEvents, m.bearerChecks, m.rateLimited,
		m.introspection, m.requests, &storeCollector{s: s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.preset(&s.cfg.Limits)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	return m
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// preset creates the expected series at zero, so dashboards and rate()
// see them before the first event.
func (m *metrics) preset(limits *Limits) {
	for _, o := range []string{"success", "authorization_pending", "slow_down", "access_denied", "expired_token", "invalid_grant"} {
		m.polls.WithLabelValues(o)
	}
	for _, b := range []string{"local", "sso"} {
		m.resolutions.WithLabelValues(b, "approve")
		m.resolutions.WithLabelValues(b, "deny")
	}
	for _, e := range []string{"minted", "rotated", "revoked", "hard_expired"} {
		m.tokenEvents.WithLabelValues(e)
	}
	for _, o := range []string{"valid", "missing", "invalid", "expired"} {
		m.bearerChecks.WithLabelValues(o)
	}
	for _, o := range []string{"active", "inactive", "unauthorized"} {
		m.introspection.WithLabelValues(o)
	}
	for _, l := range limits.fields() {
		if l.Name != "" {
			m.rateLimited.WithLabelValues(l.Name)
		}
	}
}

func (m *metrics) codeIssued() {
	if m != nil {
		m.codesIssued.Inc()
	}
}

func (m *metrics) tokenIssued(rotated bool) {
	if rotated {
		m.tokenEvent("rotated", 1)
		return
	}
	m.tokenEvent("minted", 1)
}

func (m *metrics) tokenEvent(event string, n int) {
	if m != nil && n > 0 {
		m.tokenEvents.WithLabelValues(event).Add(float64(n))
	}
}

func (m *metrics) limited(name string) {
	if m != nil {
		m.rateLimited.WithLabelValues(name).Inc()
	}
}

func (m *metrics) introspected(outcome string) {
	if m != nil {
		m.introspection.WithLabelValues(outcome).Inc()
	}
}

// bearerChecked counts one authBearer answer.
func (m *metrics) bearerChecked(err error) {
	if m != nil {
		m.bearerChecks.WithLabelValues(bearerOutcome(err)).Inc()
	}
}

func bearerOutcome(err error) string {
	switch {
	case err == nil:
		return "valid"
	case errors.Is(err, errNoBearer):
		return "missing"
	case errors.Is(err, errTokenExpired):
		return "expired"
	case errors.Is(err, errInvalidToken):
		return "invalid"
	}
	return "error"
}

// errorCode is the OAuth code of a handler's error, "success" for nil and
// "server_error" for an internal one: a bounded label set.
func errorCode(err error) string {
	var ae *apiError
	switch {
	case err == nil:
		return "success"
	case errors.As(err, &ae):
		return ae.Code
	}
	return "server_error"
}

// countPolls labels each token-endpoint answer by outcome.
func (s *Server) countPolls(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		err := h(w, r, ps)
		s.metrics.polls.WithLabelValues(errorCode(err)).Inc()
		return err
	}
}

// countResolution counts an approval or denial that went through.
func (s *Server) countResolution(branch, decision string, h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		err := h(w, r, ps)
		if err == nil {
			s.metrics.resolutions.WithLabelValues(branch, decision).Inc()
		}
		return err
	}
}

// countCodes counts device codes handed out.
func (s *Server) countCodes(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		err := h(w, r, ps)
		if err == nil {
			s.metrics.codeIssued()
		}
		return err
	}
}

// instrument observes a route's latency under its pattern.
func (s *Server) instrument(route string, next httprouter.Handle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.metrics.requests.WithLabelValues(route, methodLabel(r.Method), strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
		}()
		next(sw, r, ps)
	}
}

// methodLabel is the request method as a metric label: the standard ones
// as they are, any other "other", so a client sending made-up methods
// cannot grow the series count.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// instrumentUnmatched observes requests no route matched under one label,
// so probing random paths cannot grow the series count.
func (s *Server) instrumentUnmatched(next http.HandlerFunc) http.Handler {
	h := s.instrument("unmatched", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) { next(w, r) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(w, r, nil) })
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handleMetrics serves the registry in the Prometheus text format.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}
