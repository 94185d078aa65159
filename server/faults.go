package server

import (
	"log/slog"
	"net/http"
)

// diskRetryAfter is the Retry-After of a refused write: long enough not to
// hammer a full disk, short enough that clients notice when space returns.
const diskRetryAfter = 5

// errDiskFault answers a request whose write the disk refused (full, over
// quota, read-only, I/O error). bbolt rolled the transaction back, so the
// request changed nothing and may simply be retried; reads and bearer checks
// keep working meanwhile, and writes resume by themselves once the disk
// takes them again.
var errDiskFault = &apiError{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
	Description: "the server cannot save changes right now; nothing was changed, retry later", RetryAfter: diskRetryAfter}

// diskFault logs a refused write for the operator and returns its answer.
func (s *Server) diskFault(r *http.Request, err error) *apiError {
	s.log.Error("write refused by the disk; answering 503 until it takes writes again",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.String("request_id", requestID(r)), slog.Any("err", err))
	return errDiskFault
}
