package server

import (
	"net/http"
	"strconv"
	"time"

	"gatehouse/store"
)

// The admin view (/admin): accounts with the "admin" role see every live
// token and revoke any, read recent audit events, the store's size and
// counts, and approvals, denials and mints per day. Everyone else gets 403.
// Reads need the session; the revoke also Origin and X-CSRF-Token.

var errNotAdmin = statusErr(http.StatusForbidden, "forbidden", "this needs an admin account")

const (
	// maxAdminTokens bounds one token listing; filters narrow it further.
	maxAdminTokens = 500
	// maxFilter bounds a filter value (emails are at most 254 bytes).
	maxFilter          = 254
	defaultAuditEvents = 100
	maxAuditEvents     = 1000
	// chartDays is how far back the daily chart reaches, today included.
	chartDays = 30
)

// Audit event types the daily chart counts.
const (
	evApproved = "device.approved"
	evDenied   = "device.denied"
	evMinted   = "token.minted"
	evRotated  = "token.rotated"
)

// adminOnly lets only accounts with the admin role through.
func adminOnly(h sessionHandler) sessionHandler {
	return func(w http.ResponseWriter, r *http.Request, sc sessionCtx) error {
		if sc.account.Role != "admin" {
			return errNotAdmin
		}
		return h(w, r, sc)
	}
}

// adminTokenView is a token row as the admin view lists it.
type adminTokenView struct {
	TokenInfo
	ClientName string `json:"client_name"`
}

// handleAdminTokens lists live tokens, newest first, filtered by subject
// email (any case), subject issuer and client id, each exact.
func (s *Server) handleAdminTokens(w http.ResponseWriter, r *http.Request, _ sessionCtx) error {
	f := store.TokenFilter{Now: s.now()}
	for _, q := range []struct {
		name string
		dst  *string
	}{{"email", &f.Email}, {"client", &f.Client}, {"issuer", &f.Issuer}} {
		v, err := queryParam(r, q.name)
		if err != nil {
			return err
		}
		if len(v) > maxFilter {
			return oauthErr("invalid_request", q.name+" is too long")
		}
		*q.dst = v
	}
	rows, err := s.store.ListTokens(f)
	if err != nil {
		return err
	}
	names, err := s.clientNames()
	if err != nil {
		return err
	}
	newestFirst(rows)
	total := len(rows)
	rows = rows[:min(total, maxAdminTokens)]
	out := make([]adminTokenView, 0, len(rows))
	for _, t := range rows {
		out = append(out, adminTokenView{TokenInfo: tokenInfo(t), ClientName: names.of(t.ClientID)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out, "total": total, "truncated": total > len(rows),
		"clients": clientList(names)})
	return nil
}

// clientList is the registered clients, for the page's filter.
func clientList(names clientNameMap) []map[string]string {
	out := make([]map[string]string, 0, len(names))
	for id, name := range names {
		out = append(out, map[string]string{"id": id, "name": name})
	}
	return out
}

// handleAdminRevoke revokes any one token by id, recording the admin.
func (s *Server) handleAdminRevoke(w http.ResponseWriter, r *http.Request, sc sessionCtx) error {
	return s.revokeOneFromConsole(w, r, accountAttr(sc), "admin revoke from the console", func(id string) store.RevokeFilter {
		return store.RevokeFilter{TokenID: id, Reason: "admin", Actor: sc.account.Email, Now: s.now()}
	})
}

// handleAdminAudit lists the most recent audit events, newest first.
func (s *Server) handleAdminAudit(w http.ResponseWriter, r *http.Request, _ sessionCtx) error {
	limit, err := auditLimit(r)
	if err != nil {
		return err
	}
	evs, err := s.store.Events(time.Time{}, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": evs})
	return nil
}

func auditLimit(r *http.Request) (int, error) {
	raw, err := queryParam(r, "limit")
	if err != nil || raw == "" {
		return defaultAuditEvents, err
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxAuditEvents {
		return 0, oauthErr("invalid_request", "limit must be a whole number from 1 to 1000")
	}
	return n, nil
}

func (s *Server) handleAdminStats(w http.ResponseWriter, r *http.Request, _ sessionCtx) error {
	st, err := s.store.Stats()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// dayCounts is one UTC day of the chart.
type dayCounts struct {
	Day      string `json:"day"` // store.DayKeyLayout
	Approved int    `json:"approved"`
	Denied   int    `json:"denied"`
	Minted   int    `json:"minted"` // token.minted plus token.rotated: every token handed out
}

// handleAdminDaily counts approvals, denials and mints per UTC day over the
// last chartDays days, oldest first, with a row for every day.
func (s *Server) handleAdminDaily(w http.ResponseWriter, r *http.Request, _ sessionCtx) error {
	y, m, d := s.now().UTC().Date()
	first := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1-chartDays)
	counts, err := s.store.DailyCounts(first, evApproved, evDenied, evMinted, evRotated)
	if err != nil {
		return err
	}
	out := make([]dayCounts, 0, chartDays)
	for i := range chartDays {
		day := first.AddDate(0, 0, i).Format(store.DayKeyLayout)
		c := counts[day]
		out = append(out, dayCounts{Day: day, Approved: c[evApproved], Denied: c[evDenied], Minted: c[evMinted] + c[evRotated]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"days": out, "time_zone": "UTC"})
	return nil
}
