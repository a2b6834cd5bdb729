package web

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// pageView is what the status page template prints: every string is final
// text (html/template escapes it), every choice is made here so the
// template stays a layout.
type pageView struct {
	Title     string
	Refresh   int // seconds, for <meta http-equiv="refresh">
	Generated timeView
	Summary   summaryView
	Open      []openView
	Targets   []targetView
	HistoryOK bool
	Days      int
}

type timeView struct {
	Rel string // "4 min ago"
	Abs string // "2026-03-01 11:56 UTC"
	ISO string // RFC 3339, for <time datetime>
}

type summaryView struct {
	Class string // up, down, unknown
	Text  string
}

type openView struct {
	Subject string
	Kind    string // "" for a target outage, else the incident kind
	Since   timeView
	Cause   string
	Reports int
}

type targetView struct {
	Name, Group, Kind, URL string
	State                  string // UP, DOWN, UNKNOWN
	Class                  string // up, down, unknown
	Cover                  string // "maintenance", "silenced" or "": a marker by the state
	Since                  *timeView
	Reason                 string // the last failure's reason, only while failing
	Uptime                 string // over the bar's days: "99.87 %" or "no data"
	Bar                    []segment
}

type segment struct {
	Class string // ok, minor, partial, major, none
	Title string // "2026-11-03: 99.2 %"
}

// buildPage turns a sanitized status document and the daily history into
// the page's view at now.
func buildPage(title string, st Status, days map[string][]Day, historyOK bool, now time.Time) pageView {
	v := pageView{
		Title:     title,
		Refresh:   60,
		Generated: when(now, now),
		HistoryOK: historyOK,
		Days:      PageDays,
	}
	var down, unknown int
	for _, t := range st.Targets {
		tv := targetView{Name: t.Name, Group: t.Group, Kind: t.Kind, URL: t.URL, State: t.State, Cover: t.Cover}
		if t.Silenced && tv.Cover == "" {
			tv.Cover = "silenced"
		}
		switch t.State {
		case "UP":
			tv.Class = "up"
		case "DOWN":
			tv.Class = "down"
			down++
		default:
			tv.State, tv.Class = "UNKNOWN", "unknown"
			unknown++
		}
		if t.Since != nil {
			s := when(*t.Since, now)
			tv.Since = &s
		}
		if t.LastResult != nil && !t.LastResult.OK {
			tv.Reason = t.LastResult.Reason
		}
		tv.Bar, tv.Uptime = uptimeBar(days[t.Name], now)
		v.Targets = append(v.Targets, tv)
	}
	v.Summary = summarize(len(st.Targets), down, unknown)
	for _, inc := range st.Incidents {
		if inc.ClosedAt != nil {
			continue
		}
		ov := openView{Subject: inc.Subject, Since: when(inc.OpenedAt, now), Cause: inc.Cause, Reports: inc.Reports}
		if inc.Kind != "target" {
			ov.Kind = inc.Kind
		}
		v.Open = append(v.Open, ov)
	}
	return v
}

func summarize(total, down, unknown int) summaryView {
	switch {
	case total == 0:
		return summaryView{"unknown", "No targets are monitored"}
	case down == 0 && unknown == 0:
		if total == 1 {
			return summaryView{"up", "The target is up"}
		}
		return summaryView{"up", fmt.Sprintf("All %d targets up", total)}
	}
	s := summaryView{Class: "unknown"}
	if down > 0 {
		s.Class, s.Text = "down", fmt.Sprintf("%d of %d down", down, total)
	}
	if unknown > 0 {
		if s.Text != "" {
			s.Text += ", "
		}
		s.Text += fmt.Sprintf("%d of %d unknown", unknown, total)
	}
	return s
}

// uptimeBar lays out PageDays segments, oldest first, ending with now's UTC
// day, and the uptime over all of them. days is positional (the last entry
// is today, see DailySource); a shorter slice is aligned on today.
func uptimeBar(days []Day, now time.Time) ([]segment, string) {
	if len(days) > PageDays {
		days = days[len(days)-PageDays:]
	}
	offset := PageDays - len(days) // bar index of days[0]
	today := now.UTC().Truncate(24 * time.Hour)
	bar := make([]segment, PageDays)
	var probes, failures int64
	for i := range bar {
		date := today.AddDate(0, 0, i-(PageDays-1)).Format(time.DateOnly)
		var d Day
		if i >= offset {
			d = days[i-offset]
		}
		if d.Probes <= 0 {
			bar[i] = segment{Class: "none", Title: date + ": no data"}
			continue
		}
		probes += d.Probes
		failures += d.Failures
		bar[i] = segment{Class: segmentClass(shareUp(d.Probes, d.Failures)), Title: date + ": " + percent(d.Probes, d.Failures, 1)}
	}
	if probes == 0 {
		return bar, "no data"
	}
	return bar, percent(probes, failures, 2)
}

func shareUp(probes, failures int64) float64 {
	failures = min(max(failures, 0), probes)
	return float64(probes-failures) / float64(probes)
}

func segmentClass(share float64) string {
	switch {
	case share >= 1:
		return "ok"
	case share >= 0.99:
		return "minor"
	case share >= 0.95:
		return "partial"
	default:
		return "major"
	}
}

// percent prints the share of passed probes, rounded down so that a day
// with a failure never reads "100.0 %".
func percent(probes, failures int64, decimals int) string {
	share := shareUp(probes, failures)
	if share >= 1 {
		return "100 %"
	}
	scale := math.Pow(10, float64(decimals))
	return strconv.FormatFloat(math.Floor(share*100*scale)/scale, 'f', decimals, 64) + " %"
}

// when prints t relative to now and absolutely, in UTC: the server cannot
// know the reader's zone without JavaScript.
func when(t, now time.Time) timeView {
	return timeView{Rel: ago(now.Sub(t)), Abs: t.UTC().Format("2006-01-02 15:04 MST"), ISO: t.UTC().Format(time.RFC3339)}
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h ago", h)
		}
		return fmt.Sprintf("%d h %d min ago", h, m)
	default:
		days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		if h == 0 {
			return fmt.Sprintf("%d d ago", days)
		}
		return fmt.Sprintf("%d d %d h ago", days, h)
	}
}
