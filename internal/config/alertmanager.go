package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Alertmanager is the Alertmanager channel (alerting.alertmanager): every
// DOWN target is an alert posted to each URL and kept firing until it
// recovers.
type Alertmanager struct {
	// URLs are the base URLs of every instance of one Alertmanager cluster
	// (http or https, with a route prefix if any). They may hold
	// credentials (user:password@), so they are secrets.
	URLs []Secret
	// Reporter is this instance's name in the alerts' reporter
	// annotation; "" means the hostname, which cmd fills in.
	Reporter string
}

// maxReporterLen bounds alerting.alertmanager.reporter (a hostname's limit).
const maxReporterLen = 253

func (p *parser) alertmanager(path string, v any, a *Alerting) {
	var raw struct {
		URLs     any `mapstructure:"urls"`
		Reporter any `mapstructure:"reporter"`
	}
	if !p.section(path, v, &raw) || v == nil {
		return
	}
	upath := path + ".urls"
	if raw.URLs == nil {
		p.add(upath, "required: at least one Alertmanager URL")
		return
	}
	if items, ok := raw.URLs.([]any); ok && len(items) == 0 {
		p.add(upath, "needs at least one URL")
		return
	}
	urls := p.strList(upath, raw.URLs)
	reporter, _ := p.str(path+".reporter", raw.Reporter)
	if len(urls) == 0 {
		// Every URL expanded to empty (${ALERTMANAGER_URL:-}): not configured.
		return
	}
	am := &Alertmanager{Reporter: strings.TrimSpace(reporter)}
	seen := map[string]int{}
	for i, u := range urls {
		ipath := fmt.Sprintf("%s[%d]", upath, i)
		if msg := checkAlertmanagerURL(u); msg != "" {
			p.add(ipath, "%s", msg)
		}
		if j, dup := seen[u]; dup {
			p.add(ipath, "same URL as %s[%d]", upath, j)
		}
		seen[u] = i
		am.URLs = append(am.URLs, Secret(u))
	}
	switch {
	case len(am.Reporter) > maxReporterLen:
		p.add(path+".reporter", "longer than %d characters", maxReporterLen)
	case strings.ContainsAny(am.Reporter, "\r\n"):
		p.add(path+".reporter", "must be one line")
	}
	a.Alertmanager = am
}

// checkAlertmanagerURL reports what is wrong with an Alertmanager base URL,
// or "", never quoting it (it may hold a password).
func checkAlertmanagerURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return "not a valid URL (want http(s)://host:port[/prefix])"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an http:// or https:// URL"
	case u.RawQuery != "" || u.Fragment != "":
		return "no query or fragment: the base URL, /api/v2/alerts is appended"
	case strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/api/v2/alerts"):
		return "the base URL, without /api/v2/alerts (it is appended)"
	}
	return ""
}
