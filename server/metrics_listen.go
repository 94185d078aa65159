package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// listenMetrics binds --metrics-listen, when set: /metrics then lives only
// there (say, on a management network), not on the public listener.
func (s *Server) listenMetrics() error {
	if s.cfg.MetricsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("metrics listen on %s: %w", s.cfg.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handler)
	s.metricsLn = ln
	s.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	return nil
}

func (s *Server) serveMetrics() {
	if s.metricsSrv != nil {
		s.goBackground(func() { s.metricsSrv.Serve(s.metricsLn) })
	}
}

func (s *Server) closeMetrics(ctx context.Context) error {
	if s.metricsSrv == nil {
		return nil
	}
	return s.metricsSrv.Shutdown(ctx)
}

// MetricsAddr is the bound --metrics-listen address ("" when not set).
func (s *Server) MetricsAddr() string {
	if s.metricsLn == nil {
		return ""
	}
	return s.metricsLn.Addr().String()
}
