package web_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/web"
)

// configInfo is a settable ConfigSource, as a reload changes it.
type configInfo struct {
	mu sync.Mutex
	ci web.ConfigInfo
}

func (c *configInfo) ConfigInfo() web.ConfigInfo { c.mu.Lock(); defer c.mu.Unlock(); return c.ci }

func (c *configInfo) set(ci web.ConfigInfo) { c.mu.Lock(); c.ci = ci; c.mu.Unlock() }

var _ web.ConfigSource = (*configInfo)(nil)

func TestAssembler_Config(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	src := &configInfo{ci: web.ConfigInfo{Hash: "aa11", LoadedAt: t0}}
	a := &web.Assembler{Live: liveFunc(func() []web.Live { return nil }), Config: src}
	_, base := startServer(t, web.Options{Status: a})
	get := func() map[string]any {
		r := do(t, "GET", base+"/api/v1/status")
		if r.code != 200 {
			t.Fatalf("code = %d %q", r.code, r.body)
		}
		var doc struct {
			Config map[string]any `json:"config"`
		}
		if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Config
	}
	if got := get(); got["hash"] != "aa11" || got["loaded_at"] != "2026-11-25T10:00:00Z" {
		t.Errorf("config = %v", got)
	}
	src.set(web.ConfigInfo{Hash: "bb22", LoadedAt: t0.Add(time.Minute)})
	if got := get(); got["hash"] != "bb22" || got["loaded_at"] != "2026-11-25T10:01:00Z" {
		t.Errorf("after reload: config = %v", got)
	}
}
