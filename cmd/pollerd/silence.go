package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// `pollerd silence add|list|rm` drives the admin API of a running pollerd,
// like amtool: --url names it, POLLERD_ADMIN_TOKEN holds api.admin_token.

const (
	adminTokenEnv   = "POLLERD_ADMIN_TOKEN"
	defaultAdminURL = "http://127.0.0.1:8080"
	adminTimeout    = 10 * time.Second
)

func newSilenceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "silence",
		Short: "Add, list or remove silences on a running pollerd (admin API)",
		Long: "Silences hold the DOWN alerts of targets or groups for a while; a target still down when\n" +
			"the silence ends is announced then. The token comes from " + adminTokenEnv + ".",
	}
	cmd.PersistentFlags().String("url", defaultAdminURL, "base URL of the running pollerd")
	cmd.AddCommand(newSilenceAddCmd(), newSilenceListCmd(), newSilenceRmCmd())
	return cmd
}

func newSilenceAddCmd() *cobra.Command {
	var targets, groups []string
	var duration time.Duration
	var comment string
	cmd := &cobra.Command{
		Use:     "add --target NAME… [--group NAME…] --duration 1h [--comment TEXT]",
		Short:   "Silence targets or groups for a duration",
		Example: "  pollerd silence add --target api --duration 1h --comment 'router swap'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(targets) == 0 && len(groups) == 0 {
				return &exitError{code: 1, err: errors.New("silence add: name at least one --target or --group")}
			}
			if duration <= 0 {
				return &exitError{code: 1, err: errors.New("silence add: --duration must be positive (like 1h or 30m)")}
			}
			body, _ := json.Marshal(map[string]any{"targets": targets, "groups": groups,
				"duration": duration.String(), "comment": comment})
			var out struct {
				ID     string `json:"id"`
				EndsAt string `json:"ends_at"`
			}
			if err := adminCall(cmd, http.MethodPost, "/api/v1/silences", body, http.StatusCreated, &out); err != nil {
				return &exitError{code: 1, err: fmt.Errorf("silence add: %w", err)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "silence %s added, ends at %s\n", out.ID, out.EndsAt)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&targets, "target", nil, "target to silence (repeatable)")
	cmd.Flags().StringArrayVar(&groups, "group", nil, "group to silence (repeatable)")
	cmd.Flags().DurationVar(&duration, "duration", 0, "how long (Go duration: 30m, 1h, 2h30m)")
	cmd.Flags().StringVar(&comment, "comment", "", "why (shown by list)")
	_ = cmd.MarkFlagRequired("duration")
	return cmd
}

type silenceView struct {
	ID       string    `json:"id"`
	Targets  []string  `json:"targets"`
	Groups   []string  `json:"groups"`
	Comment  string    `json:"comment"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

func newSilenceListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the active silences",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Silences []silenceView `json:"silences"`
			}
			if err := adminCall(cmd, http.MethodGet, "/api/v1/silences", nil, http.StatusOK, &out); err != nil {
				return &exitError{code: 1, err: fmt.Errorf("silence list: %w", err)}
			}
			printSilences(cmd.OutOrStdout(), out.Silences, time.Now())
			return nil
		},
	}
}

// printSilences writes a table, one silence a row.
func printSilences(w io.Writer, list []silenceView, now time.Time) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no active silences")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTARGETS\tGROUPS\tENDS AT\tLEFT\tCOMMENT")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, dashIfEmpty(strings.Join(s.Targets, ",")),
			dashIfEmpty(strings.Join(s.Groups, ",")), s.EndsAt.UTC().Format(time.RFC3339),
			s.EndsAt.Sub(now).Round(time.Second), oneLineComment(s.Comment))
	}
	_ = tw.Flush()
}

func newSilenceRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm ID",
		Short: "Remove (end) a silence",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := adminCall(cmd, http.MethodDelete, "/api/v1/silences/"+url.PathEscape(args[0]), nil, http.StatusNoContent, nil); err != nil {
				return &exitError{code: 1, err: fmt.Errorf("silence rm: %w", err)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "silence %s removed\n", args[0])
			return nil
		},
	}
}

// adminCall sends one admin API request and decodes the answer into out
// when the status is want; otherwise it returns the API's {"error"}.
func adminCall(cmd *cobra.Command, method, path string, body []byte, want int, out any) error {
	token := os.Getenv(adminTokenEnv)
	if token == "" {
		return fmt.Errorf("%s is not set (it holds the daemon's api.admin_token)", adminTokenEnv)
	}
	base, _ := cmd.Flags().GetString("url")
	u, err := url.Parse(strings.TrimSuffix(base, "/") + path)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want http(s)://host:port", base)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), adminTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach pollerd at %s: %w", base, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s (HTTP %d)", e.Error, resp.StatusCode)
		}
		return fmt.Errorf("HTTP %d from %s", resp.StatusCode, base)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("unexpected answer: %w", err)
		}
	}
	return nil
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLineComment(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
