package main

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/config"
	"github.com/pollerd/pollerd/internal/incident"
	"github.com/pollerd/pollerd/internal/store"
	"github.com/pollerd/pollerd/internal/web"
)

// newCover builds the maintenance-and-silence stage: cfg's windows and db's
// silences, composed in an alert.CoverSet.
func newCover(cfg *config.Config, db *store.DB, log *zap.Logger) (*alert.Cover, *alert.CoverSet, error) {
	covers := &alert.CoverSet{Silences: db}
	covers.SetWindows(maintenanceWindows(cfg), groupOf(cfg))
	groups := cfg.TargetGroups()
	cov, err := alert.NewCover(alert.CoverOptions{
		Covers:         covers,
		Store:          db,
		TargetChannels: cfg.TargetChannels(),
		Grouped:        func(t string) bool { return groups[t] != "" },
		Logger:         log.Named("cover"),
	})
	return cov, covers, err
}

// startCover reads the silences, restores the DOWNs held when pollerd
// stopped, and starts the release loop; it runs before the engine loads.
func startCover(ctx context.Context, cov *alert.Cover, covers *alert.CoverSet, lc *lifecycle) error {
	if err := covers.Refresh(ctx, time.Now()); err != nil {
		return err
	}
	if err := cov.Load(ctx); err != nil {
		return err
	}
	cov.Run(context.WithoutCancel(ctx))
	lc.onStop("cover", flushTimeout, cov.Close) // before the outbox: a last release goes there
	return nil
}

func maintenanceWindows(cfg *config.Config) []alert.MaintenanceWindow {
	out := make([]alert.MaintenanceWindow, len(cfg.Maintenance))
	for i, m := range cfg.Maintenance {
		out[i] = alert.MaintenanceWindow{Name: m.Name, Schedule: m.ParsedSchedule, Duration: m.Duration,
			Targets: m.Targets, Groups: m.Groups}
	}
	return out
}

func groupOf(cfg *config.Config) func(string) string {
	groups := cfg.TargetGroups()
	return func(t string) string { return groups[t] }
}

// adminOptions is the admin API over db's silences; names come from the
// config in force.
func adminOptions(current func() *config.Config, db *store.DB, covers *alert.CoverSet) web.AdminOptions {
	return web.AdminOptions{
		TokenFunc: func() string { return current().API.AdminToken.Value() }, // follows a reload
		Silences:  silenceStore{db: db, covers: covers},
		Names: func() ([]string, []string) {
			c := current()
			return c.TargetNames(), c.GroupNames()
		},
	}
}

// silenceStore is web.Silences over the store. web imports nothing internal
// (DESIGN), so its Silence record and incident's are two identical structs:
// this adapter converts between them and refreshes the cover after a
// change, so a new silence holds the next DOWN at once.
type silenceStore struct {
	db     *store.DB
	covers *alert.CoverSet
}

var _ web.Silences = silenceStore{}

func (s silenceStore) AddSilence(ctx context.Context, si web.Silence) error {
	if err := s.db.AddSilence(ctx, incident.Silence(si)); err != nil {
		return err
	}
	return s.covers.Refresh(ctx, time.Now())
}

func (s silenceStore) ActiveSilences(ctx context.Context, now time.Time) ([]web.Silence, error) {
	list, err := s.db.ActiveSilences(ctx, now)
	out := make([]web.Silence, len(list))
	for i, si := range list {
		out[i] = web.Silence(si)
	}
	return out, err
}

func (s silenceStore) DeleteSilence(ctx context.Context, id string, now time.Time) error {
	err := s.db.DeleteSilence(ctx, id, now)
	if errors.Is(err, incident.ErrNotFound) {
		return web.ErrSilenceNotFound
	}
	if err != nil {
		return err
	}
	return s.covers.Refresh(ctx, time.Now())
}
