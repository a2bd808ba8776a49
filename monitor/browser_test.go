package monitor_test

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/breakerlab/circuit/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// go test ./monitor -run TestStatusPageScreenshot -args -screenshot=$PWD/docs/status-page.png
// refreshes the README's picture.
var screenshotOut = flag.String("screenshot", "", "also write the status page screenshot to this PNG file")

// chromium returns the path of Debian's chromium (or of $CHROMIUM),
// skipping the test when it is not installed, unless CI=true, where it must
// be.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI must install it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// runChromium runs headless chromium with a fresh profile and args, and
// returns its standard output.
func runChromium(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := chromium(t)
	profile, err := os.MkdirTemp("", "monitor-chromium-")
	require.NoError(t, err)
	// Not t.TempDir: a browser helper process may still be removing its
	// files when the browser exits, and that must not fail the test.
	t.Cleanup(func() { _ = os.RemoveAll(profile) })

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile,
	}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second // a lingering helper must not hold the pipes open
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// TestStatusPageInBrowser loads the page in a real browser and checks the
// document it built: one row per breaker, the hostile name shown as text
// and never run.
func TestStatusPageInBrowser(t *testing.T) {
	chromium(t)
	reg, mock := statusFixture(t, true)
	srv := httptest.NewServer(monitor.Handler(reg, monitor.WithClock(mock)))
	defer srv.Close()

	dom := string(runChromium(t, "--dump-dom", srv.URL+"/"))
	assert.Contains(t, dom, "<title>Circuit breakers</title>", "the hostile name's script did not run")
	assert.Equal(t, 5, strings.Count(dom, "<tr class="), "one row per breaker")
	assert.Contains(t, dom, `&lt;script&gt;document.title="pwned"&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;`, "the name is text")
	assert.NotContains(t, dom, "<b>x</b>")
	assert.NotContains(t, dom, "<script", "no script element")
	assert.Contains(t, dom, `<span class="state half-open">half-open</span>`)
	assert.Contains(t, dom, "5 breakers: 3 closed, 1 half-open, 1 open")
}

// TestStatusPageScreenshot renders the page and checks that the browser
// painted each state's color; with -screenshot it also keeps the picture.
func TestStatusPageScreenshot(t *testing.T) {
	chromium(t)
	reg, mock := statusFixture(t, false)
	srv := httptest.NewServer(monitor.Handler(reg, monitor.WithClock(mock)))
	defer srv.Close()

	dir := t.TempDir()
	shot := filepath.Join(dir, "status-page.png")
	runChromium(t, "--hide-scrollbars", "--window-size=1000,340", "--screenshot="+shot, srv.URL+"/")
	raw, err := os.ReadFile(shot)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)

	// The badges' background colors, from the page's style sheet.
	for name, want := range map[string][3]uint8{
		"closed (green)":     {0x1a, 0x7f, 0x37},
		"open (red)":         {0xcf, 0x22, 0x2e},
		"half-open (yellow)": {0xbf, 0x87, 0x00},
	} {
		assert.Greater(t, countColor(img, want), 300, "pixels of %s", name)
	}
	if *screenshotOut != "" {
		require.NoError(t, os.WriteFile(*screenshotOut, raw, 0o644))
	}
}

// countColor counts the pixels within a small distance of c.
func countColor(img image.Image, c [3]uint8) int {
	near := func(a uint32, b uint8) bool {
		d := int(a>>8) - int(b)
		return d >= -6 && d <= 6
	}
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if near(r, c[0]) && near(g, c[1]) && near(b, c[2]) {
				n++
			}
		}
	}
	return n
}
