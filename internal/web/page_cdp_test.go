package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// cdpBrowser is a minimal Chrome DevTools Protocol client over
// --remote-debugging-pipe (messages are JSON separated by NUL bytes; the
// browser reads fd 3 and writes fd 4), so the test needs no WebSocket
// library and opens no debugging port. It asks the browser for layout
// facts (Page.getLayoutMetrics), the DOM and screenshots, none of which
// needs a script in the page. (Chromium's own --dump-dom and --screenshot
// switches print nothing when scripts are disabled with
// --blink-settings=scriptEnabled=false, so they cannot serve this test.)
type cdpBrowser struct {
	cmd  *exec.Cmd
	w    *os.File // the browser's fd 3
	done chan struct{}

	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpMessage
	events  chan cdpMessage
	readErr error
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// startCDP runs the browser with args plus the pipe flag; ctx bounds its
// life. The browser is closed when the test ends.
func startCDP(t *testing.T, ctx context.Context, bin string, args []string) *cdpBrowser {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, append(args, "--remote-debugging-pipe", "about:blank")...)
	cmd.ExtraFiles = []*os.File{inR, outW} // fd 3, fd 4
	cmd.WaitDelay = 5 * time.Second
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	inR.Close()
	outW.Close()
	b := &cdpBrowser{cmd: cmd, w: inW, done: make(chan struct{}), pending: map[int]chan cdpMessage{}, events: make(chan cdpMessage, 256)}
	go b.read(bufio.NewReader(outR))
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.call(cctx, "", "Browser.close", nil, nil)
		inW.Close()
		_ = cmd.Wait()
		outR.Close()
		if t.Failed() {
			t.Logf("chromium stderr (without D-Bus noise):\n%s", dropDBus(stderr.String()))
		}
	})
	return b
}

func (b *cdpBrowser) read(r *bufio.Reader) {
	defer close(b.done)
	for {
		raw, err := r.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.readErr = err
			b.mu.Unlock()
			return
		}
		var m cdpMessage
		if err := json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.pending[m.ID]
			delete(b.pending, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		select {
		case b.events <- m:
		default: // nobody waits for it
		}
	}
}

// call sends one command (to the browser, or to a page when session is set)
// and decodes its result into result when non-nil.
func (b *cdpBrowser) call(ctx context.Context, session, method string, params, result any) error {
	ch := make(chan cdpMessage, 1)
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	b.mu.Unlock()
	msg, err := json.Marshal(struct {
		ID        int    `json:"id"`
		Method    string `json:"method"`
		Params    any    `json:"params,omitempty"`
		SessionID string `json:"sessionId,omitempty"`
	}{id, method, params, session})
	if err != nil {
		return err
	}
	if _, err := b.w.Write(append(msg, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-b.done:
		b.mu.Lock()
		defer b.mu.Unlock()
		return fmt.Errorf("%s: browser gone: %v", method, b.readErr)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// waitEvent waits for method on session, dropping other events.
func (b *cdpBrowser) waitEvent(ctx context.Context, session, method string) error {
	for {
		select {
		case m := <-b.events:
			if m.Method == method && m.SessionID == session {
				return nil
			}
		case <-b.done:
			return errors.New("browser gone")
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", method, ctx.Err())
		}
	}
}

// cdpPage is one tab, scripts off, with the viewport of a phone.
type cdpPage struct {
	b       *cdpBrowser
	session string
}

func (b *cdpBrowser) newPage(ctx context.Context, width, height int) (*cdpPage, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		return nil, err
	}
	p := &cdpPage{b: b, session: att.SessionID}
	for _, c := range []struct {
		method string
		params any
	}{
		{"Page.enable", nil},
		{"Emulation.setScriptExecutionDisabled", map[string]any{"value": true}},
		{"Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": true}},
	} {
		if err := b.call(ctx, p.session, c.method, c.params, nil); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// navigate loads url and waits for its load event.
func (p *cdpPage) navigate(ctx context.Context, url string) error {
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.b.call(ctx, p.session, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return fmt.Errorf("navigate %s: %s", url, nav.ErrorText)
	}
	return p.b.waitEvent(ctx, p.session, "Page.loadEventFired")
}

// layout is what Page.getLayoutMetrics says in CSS pixels: the whole
// document's size and the visible viewport's. A document wider than the
// viewport scrolls sideways.
type layout struct {
	Content struct {
		Width  float64 `json:"width"`
		Height float64 `json:"height"`
	} `json:"cssContentSize"`
	Viewport struct {
		ClientWidth  float64 `json:"clientWidth"`
		ClientHeight float64 `json:"clientHeight"`
	} `json:"cssLayoutViewport"`
}

func (p *cdpPage) layout(ctx context.Context) (layout, error) {
	var l layout
	err := p.b.call(ctx, p.session, "Page.getLayoutMetrics", nil, &l)
	return l, err
}

// html is the document as the browser holds it (DOM.getOuterHTML, which
// needs no script).
func (p *cdpPage) html(ctx context.Context) (string, error) {
	var doc struct {
		Root struct {
			NodeID int `json:"nodeId"`
		} `json:"root"`
	}
	if err := p.b.call(ctx, p.session, "DOM.getDocument", nil, &doc); err != nil {
		return "", err
	}
	var out struct {
		OuterHTML string `json:"outerHTML"`
	}
	err := p.b.call(ctx, p.session, "DOM.getOuterHTML", map[string]any{"nodeId": doc.Root.NodeID}, &out)
	return out.OuterHTML, err
}

// screenshot captures the viewport as PNG, or the whole document when full.
func (p *cdpPage) screenshot(ctx context.Context, full bool) ([]byte, error) {
	params := map[string]any{"format": "png"}
	if full {
		l, err := p.layout(ctx)
		if err != nil {
			return nil, err
		}
		params["captureBeyondViewport"] = true
		params["clip"] = map[string]any{"x": 0, "y": 0, "width": l.Viewport.ClientWidth, "height": l.Content.Height, "scale": 1}
	}
	var shot struct {
		Data []byte `json:"data"` // base64 in JSON
	}
	err := p.b.call(ctx, p.session, "Page.captureScreenshot", params, &shot)
	return shot.Data, err
}

// dropDBus drops the lines a browser without a session bus fills its
// stderr with.
func dropDBus(s string) string {
	var keep []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.Contains(line, "dbus") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// lockedBuffer collects a process's stderr safely while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}
