package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gatehouse/server"
)

// TestStartupRefusesBrokenDataDirs: `gatehouse serve` on a data directory
// it cannot use stops at once (well under 5 s), exits non-zero, says what
// is wrong and how to fix it, and leaves every file exactly as it was.
func TestStartupRefusesBrokenDataDirs(t *testing.T) {
	good := t.TempDir()
	addOperator(t, good) // a data file and its key, as an operator's first command leaves them
	goodDB := fileBytes(t, filepath.Join(good, "gatehouse.db"))
	goodKey := fileBytes(t, filepath.Join(good, server.KeyFileName))
	if len(goodDB) == 0 || len(goodKey) == 0 {
		t.Fatal("user add left no data file or key")
	}

	tests := []struct {
		name string
		// setup returns the --data-dir to serve; it may change the run.
		setup func(t *testing.T, r *startRun) string
		want  []string // all must appear in the output
	}{
		{"data dir is a regular file", func(t *testing.T, r *startRun) string {
			path := filepath.Join(t.TempDir(), "data")
			writeFile(t, path, []byte("not a directory"), 0o600)
			return path
		}, []string{"not a directory"}},
		{"data dir missing under a regular file", func(t *testing.T, r *startRun) string {
			path := filepath.Join(t.TempDir(), "file")
			writeFile(t, path, nil, 0o600)
			return filepath.Join(path, "data")
		}, []string{"not a directory", "point --data-dir somewhere writable"}},
		{"data dir on a read-only file system", func(t *testing.T, r *startRun) string {
			mnt := mountTmpfs(t, "1m")
			dir := filepath.Join(mnt, "data")
			populate(t, dir, goodDB, goodKey)
			remountReadOnly(t, mnt)
			return dir
		}, []string{"read-only file system", "remount it read-write or point --data-dir"}},
		{"data dir missing on a read-only file system", func(t *testing.T, r *startRun) string {
			mnt := mountTmpfs(t, "1m")
			remountReadOnly(t, mnt)
			return filepath.Join(mnt, "data")
		}, []string{"read-only file system"}},
		{"data dir not writable by this user", func(t *testing.T, r *startRun) string {
			dir := r.otherUsersDir(t)
			populate(t, dir, goodDB, goodKey)
			return dir
		}, []string{"not writable by this user", "run gatehouse as the user that owns it"}},
		{"empty data file", func(t *testing.T, r *startRun) string {
			return populated(t, []byte{}, goodKey)
		}, []string{"is empty", "restore it from a backup"}},
		{"truncated data file", func(t *testing.T, r *startRun) string {
			return populated(t, goodDB[:len(goodDB)/2], goodKey)
		}, []string{"is truncated", "restore it from a backup"}},
		{"data file cut inside its header", func(t *testing.T, r *startRun) string {
			return populated(t, goodDB[:1000], goodKey)
		}, []string{"is truncated", "restore it from a backup"}},
		{"garbage data file", func(t *testing.T, r *startRun) string {
			junk := make([]byte, 64<<10)
			rand.Read(junk)
			return populated(t, junk, goodKey)
		}, []string{"not a Gatehouse data file", "restore it from a backup"}},
		{"secret key missing beside a data file", func(t *testing.T, r *startRun) string {
			return populated(t, goodDB, nil)
		}, []string{"secret.key is missing", "restore the key from the backup", "openssl rand -hex 32"}},
		{"secret key too short", func(t *testing.T, r *startRun) string {
			return populated(t, goodDB, []byte("abcd\n"))
		}, []string{"must hold at least 32 bytes", "restore it from backup"}},
		{"secret key not hex", func(t *testing.T, r *startRun) string {
			return populated(t, goodDB, bytes.Repeat([]byte("zz"), 40))
		}, []string{"must hold at least 32 bytes"}},
		{"secret key readable by others", func(t *testing.T, r *startRun) string {
			dir := populated(t, goodDB, goodKey)
			if err := os.Chmod(filepath.Join(dir, server.KeyFileName), 0o644); err != nil {
				t.Fatal(err)
			}
			return dir
		}, []string{"readable by group or others", "chmod 600"}},
		{"GATEHOUSE_SECRET_KEY too short", func(t *testing.T, r *startRun) string {
			r.env = append(r.env, "GATEHOUSE_SECRET_KEY=short")
			return populated(t, goodDB, goodKey)
		}, []string{"GATEHOUSE_SECRET_KEY is 5 bytes", "at least 32"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &startRun{bin: binary}
			dir := tc.setup(t, r)
			before := snapshot(t, dir)
			out, code, took := r.serve(t, dir)
			if code == 0 {
				t.Fatalf("serve started (exit 0): %s", out)
			}
			if took > 5*time.Second {
				t.Errorf("serve took %v to give up", took)
			}
			t.Logf("%s", out)
			for _, w := range tc.want {
				if !strings.Contains(strings.ToLower(out), strings.ToLower(w)) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("the data dir changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// startRun is one `serve` attempt: environment and user.
type startRun struct {
	bin  string
	env  []string
	cred *syscall.Credential
}

func (r *startRun) serve(t *testing.T, dir string) (string, int, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bin, serveArgs(dir, freePort(t))...)
	cmd.Env = append(os.Environ(), r.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0, took
	case errors.As(err, &ee) && ee.Exited():
		return string(out), ee.ExitCode(), took
	}
	t.Fatalf("serve: %v\n%s", err, out)
	return "", 0, 0
}

// otherUsersDir returns a data dir this run's user may not write: as root,
// the run switches to nobody (root ignores permissions) and gets a copy of
// the binary it may execute.
func (r *startRun) otherUsersDir(t *testing.T) string {
	if os.Geteuid() != 0 {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return dir
	}
	base, err := os.MkdirTemp("", "gatehouse-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	r.bin = filepath.Join(base, "gatehouse")
	writeFile(t, r.bin, fileBytes(t, binary), 0o755)
	r.cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	return filepath.Join(base, "data") // root's, mode 0700: nobody may not write it
}

// populated is a fresh data dir holding db and key (nil: no such file).
func populated(t *testing.T, db, key []byte) string {
	dir := filepath.Join(t.TempDir(), "data")
	populate(t, dir, db, key)
	return dir
}

func populate(t *testing.T, dir string, db, key []byte) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if db != nil {
		writeFile(t, filepath.Join(dir, "gatehouse.db"), db, 0o600)
	}
	if key != nil {
		writeFile(t, filepath.Join(dir, server.KeyFileName), key, 0o600)
	}
}

func writeFile(t *testing.T, path string, b []byte, mode os.FileMode) {
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// snapshot describes every file under path (names, modes, contents), or
// the path itself when it is a file or missing.
func snapshot(t *testing.T, path string) string {
	var b strings.Builder
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			b.WriteString(p + " missing; ")
			return nil
		}
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String())
		if fi.Mode().IsRegular() {
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.WriteString(" " + strconv.Itoa(len(raw)) + "B " + strconv.FormatUint(crc(raw), 16))
		}
		b.WriteString("; ")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func crc(b []byte) uint64 {
	var h uint64 = 14695981039346656037
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// mountTmpfs mounts a tmpfs of the given size for the test, or skips the
// (sub)test where this user may not mount: the file size limit cases, which
// need no privilege, stand in for it then.
func mountTmpfs(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v %s); the file size limit cases stand in", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

func remountReadOnly(t *testing.T, mnt string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v %s", err, out)
	}
}

// TestDiskFaultRealBinary: the real server on a disk that refuses writes
// answers 503 temporarily_unavailable with Retry-After to requests that
// need a write, keeps serving reads and bearer checks, leaves nothing half
// written, and serves writes again by itself once the disk takes them.
//
// Two real faults: a full tmpfs (ENOSPC; needs mount, so root, as in CI),
// and a file size limit set on the running process with prlimit (EFBIG on
// every page write; no privilege needed, so it runs everywhere).
func TestDiskFaultRealBinary(t *testing.T) {
	t.Run("full file system", func(t *testing.T) {
		mnt := mountTmpfs(t, "2m")
		dir := filepath.Join(mnt, "data")
		addOperator(t, dir)
		p := startServe(t, dir)
		t.Cleanup(p.kill)
		diskFault(t, p, mnt, false, func() func() { return fillUp(t, mnt) })
	})
	t.Run("file size limit", func(t *testing.T) {
		if _, err := exec.LookPath("prlimit"); err != nil {
			t.Fatal("prlimit (util-linux) is needed for this test")
		}
		dir := t.TempDir()
		addOperator(t, dir)
		p := startServe(t, dir)
		t.Cleanup(p.kill)
		diskFault(t, p, t.TempDir(), true, func() func() {
			pid := strconv.Itoa(p.cmd.Process.Pid)
			if out, err := exec.Command("prlimit", "--pid", pid, "--fsize=8192:").CombinedOutput(); err != nil {
				t.Fatalf("prlimit: %v %s", err, out)
			}
			return func() {
				if out, err := exec.Command("prlimit", "--pid", pid, "--fsize=unlimited:").CombinedOutput(); err != nil {
					t.Fatalf("prlimit: %v %s", err, out)
				}
			}
		})
	})
}

// fillUp writes a filler file until the file system is full; the returned
// func deletes it.
func fillUp(t *testing.T, mnt string) func() {
	path := filepath.Join(mnt, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	f.Close()
	return func() { os.Remove(path) }
}

// diskFault runs the scenario: set up tokens and codes, apply the fault,
// check answers while it lasts, lift it, and check nothing was lost or half
// made. With every page write refused (allRefused), each write request must
// answer 503; on a full disk bbolt may still reuse its free pages, so a
// write either succeeds or answers 503, and only growth is sure to fail. A
// backup into backupDir (on the faulty disk) fails cleanly meanwhile.
func diskFault(t *testing.T, p *serveProc, backupDir string, allRefused bool, fault func() (lift func())) {
	sess, err := p.signIn(opEmail, opPassword)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(label string) string {
		t.Helper()
		r := p.startFlow(label)
		if r.status != 200 {
			t.Fatalf("device/code: %d %v %v", r.status, r.body, r.err)
		}
		if a := p.resolve(sess, "approve", r.str("user_code")); a.status != 200 {
			t.Fatalf("approve: %d %v", a.status, a.body)
		}
		tok := p.pollOnce(r.str("device_code"))
		if tok.status != 200 {
			t.Fatalf("poll: %d %v", tok.status, tok.body)
		}
		return tok.str("access_token")
	}
	tokens := []string{mint("t0"), mint("t1")}
	pending := p.startFlow("pending")
	approved := p.startFlow("approved")
	if a := p.resolve(sess, "approve", approved.str("user_code")); a.status != 200 {
		t.Fatalf("approve: %d", a.status)
	}

	lift := fault()
	refusedOK := func(what string, r reply) bool { // true when refused as it should be
		t.Helper()
		switch {
		case r.err != nil:
			t.Fatalf("%s during the fault: %v", what, r.err)
		case r.status == 503:
			if r.str("error") != "temporarily_unavailable" || r.header.Get("Retry-After") == "" {
				t.Errorf("%s: 503 without the contract: %v, Retry-After %q", what, r.body, r.header.Get("Retry-After"))
			}
			return true
		case r.status == 200 && !allRefused:
			return false
		}
		t.Errorf("%s during the fault answered %d %v, want 503", what, r.status, r.body)
		return false
	}
	for i := 0; ; i++ { // growth: new codes until the disk says no
		if refusedOK("starting a flow", p.startFlow("fill")) {
			break
		}
		if i > 3000 {
			t.Fatal("the disk never refused a write")
		}
	}
	approveRefused := refusedOK("approving", p.resolve(sess, "approve", pending.str("user_code")))
	mintRefused := refusedOK("the poll that mints", p.pollOnce(approved.str("device_code")))
	revokeRefused := refusedOK("revoking", p.revokeSelf(tokens[1]))

	if r := p.me(tokens[0]); r.status != 200 {
		t.Errorf("bearer check during the fault: %d %v", r.status, r.err)
	}
	if out, code := runCLI("", "check", "--data-dir", p.dir); code != 0 {
		t.Errorf("gatehouse check during the fault: %d %s", code, out)
	}
	dest := filepath.Join(backupDir, "backup.db")
	if out, code := runCLI("", "backup", "--data-dir", p.dir, dest); code == 0 {
		t.Errorf("a backup onto the refusing disk succeeded: %s", out)
	}
	if left, _ := filepath.Glob(filepath.Join(backupDir, ".gatehouse-backup-*")); len(left) > 0 || fileBytes(t, dest) != nil {
		t.Errorf("a failed backup left files behind: %v (dest exists: %v)", left, fileBytes(t, dest) != nil)
	}

	lift()
	// Writes resume on the same process, with no restart.
	if r := p.startFlow("after"); r.status != 200 {
		t.Errorf("starting a flow once the disk takes writes: %d %v", r.status, r.body)
	}
	if approveRefused {
		lookup := do(p.http, "GET", p.base+"/v1/oauth/device/lookup?user_code="+pending.str("user_code"), "", "", nil)
		if lookup.status != 200 || lookup.body["valid"] != true {
			t.Errorf("the refused approval left a mark: %d %v", lookup.status, lookup.body)
		}
		if a := p.resolve(sess, "approve", pending.str("user_code")); a.status != 200 {
			t.Errorf("approving after the fault: %d %v", a.status, a.body)
		}
	}
	if mintRefused {
		if r := p.pollOnce(approved.str("device_code")); r.status != 200 {
			t.Errorf("an approval whose mint was refused must still yield its token: %d %v", r.status, r.body)
		}
	}
	if revokeRefused {
		if r := p.me(tokens[1]); r.status != 200 {
			t.Errorf("the refused revocation revoked: %d", r.status)
		}
		if r := p.revokeSelf(tokens[1]); r.status != 200 {
			t.Errorf("revoking after the fault: %d %v", r.status, r.body)
		}
	}
	if r := p.me(tokens[1]); r.status != 401 {
		t.Errorf("a revoked token answers %d", r.status)
	}
	if out, code := runCLI("", "check", "--data-dir", p.dir); code != 0 {
		t.Errorf("gatehouse check after the fault: %d %s", code, out)
	}
	if out, code := runCLI("", "backup", "--data-dir", p.dir, dest); code != 0 {
		t.Errorf("backup after the fault: %d %s", code, out)
	} else if out, code := runCLI("", "check", "--file", dest); code != 0 {
		t.Errorf("check of that backup: %d %s", code, out)
	}
	if !strings.Contains(p.out.String(), "write refused by the disk") {
		t.Errorf("the operator was not told: %s", p.out.String())
	}
}
