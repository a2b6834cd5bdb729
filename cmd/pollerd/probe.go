package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pollerd/pollerd/internal/probe"
	"github.com/spf13/cobra"
)

func newProbeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "probe NAME",
		Short: "Probe one target once and print the result; exit 1 when it fails",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(configPath(cmd))
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			t, ok := cfg.Target(args[0])
			if !ok {
				return &exitError{code: 2, err: fmt.Errorf("no target named %q in %s", args[0], configPath(cmd))}
			}
			r := probe.Run(cmd.Context(), t.Probe)
			printResult(cmd.OutOrStdout(), t.Name, r)
			if !r.OK {
				return &exitError{code: 1}
			}
			return nil
		},
	}
}

func printResult(w io.Writer, name string, r probe.Result) {
	verdict := "ok"
	if !r.OK {
		verdict = "FAIL: " + r.Reason
	}
	fmt.Fprintf(w, "%s: %s\n", name, verdict)
	fmt.Fprintf(w, "  total      %s\n", ms(r.Duration))
	if r.StatusCode != 0 {
		fmt.Fprintf(w, "  status     %d\n", r.StatusCode)
	}
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"dns", r.Timings.DNS}, {"connect", r.Timings.Connect}, {"tls", r.Timings.TLS}, {"first byte", r.Timings.FirstByte}} {
		if p.d > 0 {
			fmt.Fprintf(w, "  %-10s %s\n", p.name, ms(p.d))
		}
	}
	if len(r.Answers) > 0 {
		fmt.Fprintf(w, "  answers    %s\n", strings.Join(quoteOdd(r.Answers), ", "))
	}
	if !r.CertNotAfter.IsZero() {
		fmt.Fprintf(w, "  cert until %s (%s)\n", r.CertNotAfter.UTC().Format(time.RFC3339),
			time.Until(r.CertNotAfter).Round(time.Hour))
	}
}

func ms(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }

// quoteOdd quotes the answers that a terminal would print wrongly or that
// hold a comma or space (TXT records are whatever the server sent).
func quoteOdd(answers []string) []string {
	out := make([]string, len(answers))
	for i, a := range answers {
		out[i] = a
		if a == "" || strings.ContainsAny(a, ", \"") || strconv.Quote(a) != `"`+a+`"` {
			out[i] = strconv.Quote(a)
		}
	}
	return out
}
