package web_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Phone is the viewport the status page must fit: a 412-px-wide phone.
const phoneWidth, phoneHeight = 412, 915

// chromiumFlags keep the browser offline and quiet: scripts off, no
// sandbox (containers), nothing fetched in the background, and every host
// name but 127.0.0.1 unresolvable, so nothing can reach the internet.
func chromiumFlags(t *testing.T) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-dev-shm-usage", "--no-default-browser-check",
		"--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		"--blink-settings=scriptEnabled=false", "--hide-scrollbars", "--mute-audio",
		"--user-data-dir=" + t.TempDir(),
		fmt.Sprintf("--window-size=%d,%d", phoneWidth, phoneHeight),
	}
}

// TestStatusPage_Chromium loads the page in real headless Chromium with
// JavaScript disabled, as a phone 412 px wide, and checks what a person
// reads (the DOM the browser built), that the styled page renders (a
// screenshot), and that it does not scroll sideways (the layout metrics).
// It drives the browser over the DevTools pipe: see cdpBrowser.
// POLLERD_SCREENSHOT=path (relative to the module root) also writes a
// full-page screenshot there, the README's picture.
func TestStatusPage_Chromium(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("chromium is not installed (Debian: apt-get install chromium); skipping the browser test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, base := startServer(t, pageOptions(pageStatus()))

	b := startCDP(t, ctx, bin, chromiumFlags(t))
	p, err := b.newPage(ctx, phoneWidth, phoneHeight)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.navigate(ctx, base+"/"); err != nil {
		t.Fatal(err)
	}

	t.Run("what a person reads", func(t *testing.T) {
		dom, err := p.html(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`(?i)<script`).MatchString(dom) {
			t.Error("the DOM has a script element")
		}
		text := visibleText(dom)
		// In reading order: the verdict, the open incidents, then the targets.
		inOrder(t, text,
			"Home server",
			"1 of 5 down, 1 of 5 unknown",
			"Open incidents",
			"api Since 2026-11-03 14:00 UTC (4 min ago)",
			"connect: connection refused",
			"tteokbokki-map report Since 2026-11-03 13:59 UTC (6 min ago); 7 client reports",
			"Targets",
			"api DOWN group homeserver https://home.example.com/api/health",
			"DOWN since 2026-11-03 14:00 UTC (4 min ago)",
			"connect: connection refused",
			"90 days ago 99.60 % today",
			"web UP group homeserver",
			"UP since 2026-10-22 11:05 UTC (12 d 3 h ago)",
			"cert-home UP",
			"dns-home UP",
			"backup-nas UNKNOWN",
			"Not probed yet",
		)
		for _, secret := range []string{"hunter2", "s3cret"} {
			if strings.Contains(dom, secret) {
				t.Errorf("the page shows %q", secret)
			}
		}
	})

	t.Run("fits a phone", func(t *testing.T) {
		l, err := p.layout(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if l.Viewport.ClientWidth != phoneWidth || l.Content.Width > phoneWidth {
			t.Errorf("document %.0f px wide in a %.0f px viewport, want it within %d px (no sideways scroll)",
				l.Content.Width, l.Viewport.ClientWidth, phoneWidth)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		data, err := p.screenshot(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		img := decodePNG(t, data)
		if b := img.Bounds(); b.Dx() != phoneWidth || b.Dy() != phoneHeight {
			t.Errorf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), phoneWidth, phoneHeight)
		}
		// The red "down" banner shows the stylesheet was applied: the
		// Content-Security-Policy let the inline style through.
		if n := countColor(img, [][3]uint8{{0xc6, 0x28, 0x28}, {0xf8, 0x51, 0x49}}); n < 2000 {
			t.Errorf("%d pixels of the down colour, want the styled banner", n)
		}
		if out := os.Getenv("POLLERD_SCREENSHOT"); out != "" {
			full, err := p.screenshot(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			writeScreenshot(t, full, out)
		}
	})

	// The checks can fail: a script does not run, and a page wider than
	// the phone is caught.
	t.Run("controls", func(t *testing.T) {
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/script" {
				fmt.Fprint(w, `<!doctype html><body><p id="p">static</p><script>document.getElementById("p").textContent = "JS RAN"</script>`)
				return
			}
			fmt.Fprint(w, `<!doctype html><meta name="viewport" content="width=device-width"><div style="width:900px">wide</div>`)
		}))
		defer other.Close()
		if err := p.navigate(ctx, other.URL+"/script"); err != nil {
			t.Fatal(err)
		}
		if dom, err := p.html(ctx); err != nil || !strings.Contains(dom, ">static<") {
			t.Errorf("a page script ran (JavaScript is not disabled): %v\n%s", err, dom)
		}
		if err := p.navigate(ctx, other.URL+"/wide"); err != nil {
			t.Fatal(err)
		}
		if l, err := p.layout(ctx); err != nil || l.Content.Width <= phoneWidth {
			t.Errorf("a 900-px page measured %.0f px wide (%v): the check cannot see overflow", l.Content.Width, err)
		}
	})
}

var (
	headOrStyle = regexp.MustCompile(`(?is)<head>.*?</head>|<style>.*?</style>|<svg.*?</svg>`)
	tag         = regexp.MustCompile(`<[^>]*>`)
	spaces      = regexp.MustCompile(`\s+`)
)

// visibleText is the body's text as one line: tags and icons dropped,
// entities decoded, whitespace collapsed.
func visibleText(dom string) string {
	s := headOrStyle.ReplaceAllString(dom, " ")
	s = tag.ReplaceAllString(s, " ")
	s = spaces.ReplaceAllString(html.UnescapeString(s), " ")
	// Tags dropped between a word and its punctuation leave a space: "( 4".
	return strings.NewReplacer("( ", "(", " )", ")", " ;", ";").Replace(s)
}

// inOrder checks that text holds each of want, each after the previous.
func inOrder(t *testing.T, text string, want ...string) {
	t.Helper()
	rest := text
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("the page does not show %q after the previous items; it reads:\n%s", w, text)
		}
		rest = rest[i+len(w):]
	}
}

func decodePNG(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot is no PNG: %v", err)
	}
	return img
}

// countColor counts the pixels within a small distance of any of colors.
func countColor(img image.Image, colors [][3]uint8) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			for _, c := range colors {
				if near(r>>8, c[0]) && near(g>>8, c[1]) && near(bl>>8, c[2]) {
					n++
					break
				}
			}
		}
	}
	return n
}

func near(v uint32, c uint8) bool { return v+8 >= uint32(c) && v <= uint32(c)+8 }

// writeScreenshot writes a PNG to out, a path relative to the module root
// unless absolute.
func writeScreenshot(t *testing.T, data []byte, out string) {
	t.Helper()
	if !filepath.IsAbs(out) {
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		out = filepath.Join(root, out)
	}
	img := decodePNG(t, data)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%dx%d)", out, img.Bounds().Dx(), img.Bounds().Dy())
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's directory")
		}
		dir = parent
	}
}
