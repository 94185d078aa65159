package commands

import (
	"github.com/urfave/cli/v2"

	"gatehouse/server"
)

// opsConfig reads the TLS, metrics and discovery flags into cfg;
// server.Config.Validate judges them.
func opsConfig(c *cli.Context, cfg *server.Config) {
	cfg.TLSCert, cfg.TLSKey = c.String("tls-cert"), c.String("tls-key")
	cfg.MetricsListen = c.String("metrics-listen")
	cfg.ServiceDocumentation = c.String("service-documentation")
}
