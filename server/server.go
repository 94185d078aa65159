package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"gatehouse/server/clientip"
	"gatehouse/server/ratelimit"
	"gatehouse/store"
)

// Server is one running Gatehouse: the store, the public listener and the
// admin socket. Start opens them all; Close shuts them down in order, the
// store last.
type Server struct {
	cfg   Config
	store *store.Store
	log   *slog.Logger
	now   func() time.Time
	key   []byte
	pacer *pacer
	usage *usage
	holds *holds
	spent *spentCodes // user codes already consumed, for the guess budget

	metrics    *metrics // Prometheus registry and counters (metrics.go)
	metricsSrv *http.Server
	metricsLn  net.Listener
	ready      readiness // cached /readyz store probe (health.go)

	limiter *ratelimit.Limiter
	ips     clientip.Resolver

	http  *http.Server
	ln    net.Listener
	admin *adminSocket

	stop    chan struct{}
	bg      sync.WaitGroup
	closing sync.Once
}

// Start opens the data directory and store, bootstraps a fresh install, and
// starts serving on cfg.Listen and the admin socket. Use port 0 in tests.
func Start(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, stop: make(chan struct{}),
		limiter: ratelimit.New(ratelimit.Config{Now: cfg.Now}), ips: clientip.Resolver{Trusted: cfg.TrustedProxies},
		holds: newHolds(cfg.MaxHeldPolls), spent: newSpentCodes(maxSpentCodes)}
	s.metrics = newMetrics(s)
	if err := s.open(); err != nil {
		return nil, err
	}
	s.serve()
	return s, nil
}

// open does every fallible start-up step; on error it undoes what it did.
func (s *Server) open() (err error) {
	if err = prepareDataDir(s.cfg.DataDir); err != nil {
		return err
	}
	if s.key, err = loadOrCreateKey(s.cfg.DataDir, s.cfg.SecretKey); err != nil {
		return err
	}
	if s.store, err = store.Open(s.cfg.DataDir, store.Options{OnResolved: s.holds.resolved, OnEvent: s.logEvent, LockTimeout: time.Second}); err != nil {
		return alreadyServing(s.cfg.DataDir, err)
	}
	defer func() {
		if err != nil {
			s.closeListeners()
			s.store.Close()
			// The lock is ours, so the pid file is too: leave none behind.
			os.Remove(filepath.Join(s.cfg.DataDir, store.PIDFileName))
		}
	}()
	if err = writePIDFile(s.cfg.DataDir); err != nil {
		return err
	}
	if s.ln, err = net.Listen("tcp", s.cfg.Listen); err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	if err = s.listenTLS(); err != nil {
		return err
	}
	if err = s.listenMetrics(); err != nil {
		return err
	}
	if s.cfg.PublicURL == "" {
		s.cfg.PublicURL = s.scheme() + "://" + publicHost(s.ln.Addr().String())
		if unspecifiedHost(s.ln.Addr().String()) {
			s.log.Warn("listening on every interface without --public-url: verification links and the Origin check use "+
				s.cfg.PublicURL+", which other machines cannot reach; set --public-url to the address people and CLIs use",
				slog.String("public_url", s.cfg.PublicURL))
		}
	}
	if err = s.bootstrap(); err != nil {
		return err
	}
	s.admin, err = listenAdmin(s.cfg.DataDir, &adminService{store: s.store, now: s.now, log: s.log, metrics: s.metrics})
	return err
}

func (s *Server) serve() {
	s.pacer, s.usage = newPacer(), newUsage()
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.goBackground(func() { s.http.Serve(s.ln) })
	s.goBackground(s.admin.serve)
	s.serveMetrics()
	s.goBackground(s.sweepLoop)
	s.goBackground(s.usageLoop)
	s.goBackground(func() { s.limiter.Run(ctxUntil(s.stop), time.Minute) })
	if s.cfg.PruneEvery > 0 {
		s.goBackground(s.pruneLoop)
	}
	s.log.Info("gatehouse serving", slog.String("listen", s.ln.Addr().String()),
		slog.String("public_url", s.cfg.PublicURL), slog.String("data_dir", s.cfg.DataDir), slog.Bool("sso", s.cfg.SSO.Enabled()))
}

func (s *Server) goBackground(f func()) {
	s.bg.Add(1)
	go func() { defer s.bg.Done(); f() }()
}

// URL is the public base URL (derived from the listener when not set).
func (s *Server) URL() string { return s.cfg.PublicURL }

// Addr is the bound listen address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// DataDir is the data directory in use.
func (s *Server) DataDir() string { return s.cfg.DataDir }

// Store is the open store, for tests in this package's callers.
func (s *Server) Store() *store.Store { return s.store }

// Close drains in-flight requests, stops background work, closes the admin
// socket and then the store.
func (s *Server) Close() error {
	var err error
	s.closing.Do(func() {
		close(s.stop)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = errors.Join(s.http.Shutdown(ctx), s.closeMetrics(ctx))
		s.admin.shutdown(ctx)
		s.bg.Wait()
		s.flushUsage()
		os.Remove(filepath.Join(s.cfg.DataDir, store.PIDFileName))
		err = errors.Join(err, s.store.Close())
	})
	return err
}

func (s *Server) closeListeners() {
	if s.ln != nil {
		s.ln.Close()
	}
	if s.admin != nil {
		s.admin.ln.Close()
	}
	if s.metricsLn != nil {
		s.metricsLn.Close()
	}
}

// Run starts the server and serves until ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
		return s.Close()
	case <-s.store.Failed():
		// The disk failed mid-commit (store/write.go): serving on would
		// build on state that may not be on disk. Stop, so a supervisor
		// restarts from what the disk has.
		s.log.Error("stopping: the data file could not be written safely", slog.Any("err", s.store.Err()))
		return errors.Join(fmt.Errorf("stopped after a disk failure while committing (%w); check the disk, then restart", s.store.Err()), s.Close())
	}
}

// unspecifiedHost reports whether addr listens on every interface.
func unspecifiedHost(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsUnspecified()
}

func publicHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// alreadyServing rewords store's "in use" error for serve: the store's
// advice to go through the admin socket fits admin commands, not a second
// server.
func alreadyServing(dir string, err error) error {
	if !errors.Is(err, store.ErrInUse) {
		return err
	}
	pid := "unknown pid"
	if b, rerr := os.ReadFile(filepath.Join(dir, store.PIDFileName)); rerr == nil {
		if n, cerr := strconv.Atoi(strings.TrimSpace(string(b))); cerr == nil {
			pid = "pid " + strconv.Itoa(n)
		}
	}
	return servingError(fmt.Sprintf("gatehouse is already serving this data directory (%s, file %s); stop it first",
		pid, filepath.Join(dir, store.FileName)))
}

// servingError is store.ErrInUse as serve words it.
type servingError string

func (e servingError) Error() string { return string(e) }
func (e servingError) Unwrap() error { return store.ErrInUse }

func writePIDFile(dir string) error {
	path := filepath.Join(dir, store.PIDFileName)
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
}

// sweepLoop forgets pacing state of expired codes.
func (s *Server) sweepLoop() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.pacer.sweep(s.now())
		}
	}
}

// pruneLoop runs the retention prune on its schedule.
func (s *Server) pruneLoop() {
	t := time.NewTicker(s.cfg.PruneEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			c, err := s.store.Prune(s.prunePolicy(false))
			if err != nil {
				s.log.Error("scheduled prune failed", slog.Any("err", err))
				continue
			}
			s.log.Info("scheduled prune", slog.Any("deleted", c))
		}
	}
}

func (s *Server) prunePolicy(dry bool) store.PrunePolicy {
	return store.PrunePolicy{Now: s.now(), Retention: s.cfg.Retention, AuditRetention: s.cfg.AuditRetention,
		DeviceCodeGrace: time.Hour, DryRun: dry}
}

// ctxUntil is a context cancelled when stop closes.
func ctxUntil(stop <-chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-stop; cancel() }()
	return ctx
}
