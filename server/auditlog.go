package server

import (
	"context"
	"log/slog"

	"gatehouse/store"
)

// logEvent is the store's audit sink: every audit event, of every kind,
// becomes one structured log record once its transaction has committed.
// Events carry ids, emails and addresses, never a secret.
func (s *Server) logEvent(ev store.Event) {
	attrs := []slog.Attr{slog.String("event", ev.Type), slog.Uint64("seq", ev.Seq)}
	for _, f := range []struct{ k, v string }{
		{"actor", ev.Actor}, {"subject", ev.Subject}, {"issuer", ev.Issuer}, {"token_id", ev.TokenID},
		{"client_id", ev.Client}, {"ip", ev.IP}, {"detail", ev.Detail},
	} {
		if f.v != "" {
			attrs = append(attrs, slog.String(f.k, f.v))
		}
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "audit", attrs...)
}
