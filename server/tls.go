package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckEvery is how often the certificate files are looked at for a
// renewal (certbot, an internal CA's agent): no restart needed.
const certCheckEvery = time.Minute

// listenTLS wraps the public listener in TLS when --tls-cert and --tls-key
// are set. A bad pair stops start-up; a bad renewal is logged and the old
// certificate kept.
func (s *Server) listenTLS() error {
	if s.cfg.TLSCert == "" {
		return nil
	}
	rl, err := newCertReloader(s.cfg.TLSCert, s.cfg.TLSKey, s.log)
	if err != nil {
		return fmt.Errorf("%w: --tls-cert/--tls-key: %w", ErrConfig, err)
	}
	s.ln = tls.NewListener(s.ln, &tls.Config{GetCertificate: rl.get, MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"}})
	return nil
}

// scheme is how clients reach the public listener.
func (s *Server) scheme() string {
	if s.cfg.TLSCert != "" {
		return "https"
	}
	return "http"
}

type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	mod     time.Time // newest modification time of the two files when loaded
	checked time.Time
}

func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	mod, err := c.modTime()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	c.cert, c.mod, c.checked = &cert, mod, time.Now()
	return c, nil
}

func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) >= certCheckEvery {
		c.checked = time.Now()
		c.reloadIfChanged()
	}
	return c.cert, nil
}

func (c *certReloader) reloadIfChanged() {
	mod, err := c.modTime()
	if err != nil || !mod.After(c.mod) {
		return
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		c.log.Error("TLS certificate changed but does not load; keeping the old one", slog.Any("err", err))
		return
	}
	c.cert, c.mod = &cert, mod
	c.log.Info("TLS certificate reloaded", slog.String("cert", c.certFile))
}

func (c *certReloader) modTime() (time.Time, error) {
	var newest time.Time
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return time.Time{}, err
		}
		if fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	return newest, nil
}

func (c *Config) checkTLS() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together", ErrConfig)
	}
	return nil
}
