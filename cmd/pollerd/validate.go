package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/pollerd/pollerd/internal/config"
	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check a configuration file; print every problem with its field path",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := configPath(cmd)
			if _, err := loadConfig(path); err != nil {
				return &exitError{code: 1, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", path)
			return nil
		},
	}
}

// loadConfig loads the file with the process environment: the one place the
// environment reaches internal/config. Problems come one a line.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path, os.LookupEnv)
	if err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("%s: invalid configuration:\n%w", path, err)
		}
		return nil, err
	}
	return cfg, nil
}
