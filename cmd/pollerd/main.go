// Command pollerd watches a self-hosted server from the outside and tells its
// owner on Slack, once, when it goes down and when it comes back.
//
// This package is wiring only: flags, signals, and the start/stop order of
// the parts under internal/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// defaultConfig is where the systemd unit keeps the configuration.
const defaultConfig = "/etc/pollerd/pollerd.yaml"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// exitError carries an exit code up to Main without printing twice.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// Main runs one subcommand and returns the process exit code: 0 success,
// 1 a failed check (validate, probe) or a fatal error, 2 a usage error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "pollerd:", err)
	return 2
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "pollerd",
		Short:         "External uptime poller with deduplicated Slack alerts",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringP("config", "c", defaultConfig, "configuration file (YAML)")
	root.AddCommand(newRunCmd(), newValidateCmd(), newProbeCmd(), newVersionCmd())
	root.AddCommand(newSilenceCmd())
	return root
}

func configPath(cmd *cobra.Command) string {
	p, _ := cmd.Flags().GetString("config")
	return p
}
