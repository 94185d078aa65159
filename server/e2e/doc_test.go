// Package e2e runs Gatehouse as an operator and its clients do: the real
// binary (built once in TestMain) as a child process or the real server on
// 127.0.0.1:0, each on a temp data dir, driven over HTTP, the admin socket
// and the CLI: the core journeys with golang.org/x/oauth2, openid-client and
// curl, the admin commands, crash torture, disk faults, shutdown and the
// soak run (build tag soak).
package e2e

import "path/filepath"

// repoRoot is the module's root, for the scripts the tests run.
var repoRoot = func() string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return root
}()
