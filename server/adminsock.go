package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"gatehouse/store"
)

// AdminSocketName is the admin socket's file in the data directory.
const AdminSocketName = "admin.sock"

// adminSocket serves adminService over HTTP on a 0600 Unix socket.
type adminSocket struct {
	ln  net.Listener
	srv *http.Server
}

// listenAdmin binds the socket, removing a stale one only if it is a socket
// (the caller holds the bbolt lock, so no other server owns it).
func listenAdmin(dir string, svc *adminService) (*adminSocket, error) {
	path := filepath.Join(dir, AdminSocketName)
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket; move it away", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale %s: %w", path, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/{op}", func(w http.ResponseWriter, r *http.Request) {
		in, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, adminErrorOf(err))
			return
		}
		out, err := svc.do(r.PathValue("op"), in)
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, adminErrorOf(err))
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return &adminSocket{ln: ln, srv: srv}, nil
}

func (a *adminSocket) serve() { a.srv.Serve(a.ln) }

func (a *adminSocket) shutdown(ctx context.Context) { a.srv.Shutdown(ctx) }

// Admin runs admin operations against the data directory: through the
// running server's socket when there is one, else on the file directly.
type Admin struct {
	DataDir string
	Now     func() time.Time
}

// ErrNoServer is returned by CallServer when no server answers the socket.
var ErrNoServer = errors.New("no running server")

// Call runs op with in and decodes the answer into out.
func (a Admin) Call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	raw, err := a.viaSocket(ctx, op, body)
	if errors.Is(err, ErrNoServer) {
		raw, err = a.direct(op, body)
	}
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

func (a Admin) viaSocket(ctx context.Context, op string, body []byte) ([]byte, error) {
	path := filepath.Join(a.DataDir, AdminSocketName)
	c := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "unix", path)
		}}}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://gatehouse/admin/"+op, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, socketError(path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		ae := &AdminError{}
		if json.Unmarshal(raw, ae) != nil || ae.Code == "" {
			return nil, fmt.Errorf("admin socket answered %s", resp.Status)
		}
		return nil, ae
	}
	return raw, nil
}

// readOnlyOps only read: run directly, they open the file read-only and
// leave the data directory (its mode, its key file) exactly as it was.
var readOnlyOps = map[string]bool{
	"tokens.list": true, "user.list": true, "client.list": true, "resource.list": true, "audit": true, "check": true,
}

// creatingOps may make the data file in an existing data directory that has
// none yet: operators and tests add the first accounts, clients and
// resource servers before the first start.
var creatingOps = map[string]bool{"user.add": true, "client.add": true, "resource.add": true}

// openDirect never creates a data directory (only serve does), so a wrong
// --data-dir or working directory fails instead of leaving a fresh, empty
// Gatehouse behind.
func (a Admin) openDirect(op string) (*store.Store, error) {
	if err := RequireDataDir(a.DataDir, !creatingOps[op]); err != nil {
		return nil, err
	}
	if !readOnlyOps[op] {
		if err := prepareDataDir(a.DataDir); err != nil {
			return nil, err
		}
		if err := ensureKey(a.DataDir); err != nil {
			return nil, err
		}
		return store.Open(a.DataDir, store.Options{LockTimeout: 2 * time.Second})
	}
	return store.Open(a.DataDir, store.Options{LockTimeout: 2 * time.Second, ReadOnly: true})
}

// socketError tells "nobody is serving" (go direct) from "something is
// there but we may not use it" (say so).
func socketError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
		return ErrNoServer
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EACCES):
		return fmt.Errorf("admin socket %s: permission denied; run as the user that runs gatehouse serve", path)
	}
	return fmt.Errorf("admin socket %s: %w", path, err)
}

// direct opens the file (failing fast, naming the server, if it is locked)
// and runs the operation in this process.
func (a Admin) direct(op string, body []byte) ([]byte, error) {
	st, err := a.openDirect(op)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	now := a.Now
	if now == nil {
		now = time.Now
	}
	svc := &adminService{store: st, now: now, log: discardLogger()}
	out, err := svc.do(op, body)
	if err != nil {
		return nil, adminErrorOf(err)
	}
	return json.Marshal(out)
}
