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
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/breakerlab/circuit/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// go test ./monitor -run TestStatusPageScreenshot -args -screenshot=$PWD/docs/status-page.png
// refreshes the picture in docs/monitoring.md.
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
	t.Skip("chromium is not installed: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM to a Chromium binary")
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
// document it built: one row per breaker, the hostile name and figure
// label shown as text and never run.
func TestStatusPageInBrowser(t *testing.T) {
	chromium(t)
	reg, mock := statusFixture(t, true)
	srv := httptest.NewServer(monitor.Handler(reg, monitor.WithClock(mock), monitor.WithSummary(func(time.Time) []monitor.Figure {
		return []monitor.Figure{{Label: hostileLabel, Value: "3", Alert: true}}
	})))
	defer srv.Close()

	dom := string(runChromium(t, "--dump-dom", srv.URL+"/"))
	assert.Contains(t, dom, "<title>Circuit breakers</title>", "the hostile name's script did not run")
	assert.Contains(t, dom, `<th scope="row" class="attention">&lt;/td&gt;&lt;/table&gt;&lt;script&gt;document.title="pwned"&lt;/script&gt;</th>`, "the hostile figure label is text")
	assert.Equal(t, 2, strings.Count(dom, "</table>"), "figures and breakers, nothing closed early")
	assert.Equal(t, 5, strings.Count(dom, "<tr class="), "one row per breaker")
	assert.Contains(t, dom, `&lt;script&gt;document.title="pwned"&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;`, "the name is text")
	assert.NotContains(t, dom, "<b>x</b>")
	assert.NotContains(t, dom, "<script", "no script element")
	assert.NotContains(t, dom, "<img", "the hostile error is text")
	assert.Contains(t, dom, `<span class="state half-open">half-open</span>`)
	assert.Contains(t, dom, "5 breakers: 3 closed, 1 half-open, 1 open")
}

// The colours the screenshot check looks for, from the page's style sheet.
var (
	criticalRed = [3]uint8{0xa4, 0x0e, 0x26} // .sev.critical and a critical row's edge
	warningGold = [3]uint8{0xf2, 0xc7, 0x44} // .sev.warning and a warning row's edge
	openRed     = [3]uint8{0xcf, 0x22, 0x2e} // .state.open
	halfOpenOak = [3]uint8{0x9a, 0x67, 0x00} // .state.half-open
	closedGreen = [3]uint8{0x1a, 0x7f, 0x37} // .state.closed
	flapPurple  = [3]uint8{0x82, 0x50, 0xdf} // .badge.flapping
)

// TestStatusPageScreenshot renders a monitored page in a browser and checks
// that it leads with what is wrong, from the DOM the browser built and
// from the pixels it painted: the critical alert above the warnings, the
// open breakers above the half-open one, every label painted. With
// -screenshot it also keeps the picture.
func TestStatusPageScreenshot(t *testing.T) {
	chromium(t)
	reg, m, _ := alertFixture(t)
	srv := httptest.NewServer(monitor.Handler(reg, monitor.WithMonitor(m)))
	defer srv.Close()

	dom := string(runChromium(t, "--dump-dom", srv.URL+"/"))
	rows := regexp.MustCompile(`<tr class="[a-z]*" data-name="([^"]+)">`).FindAllStringSubmatch(dom, -1)
	var order []string
	for _, r := range rows {
		order = append(order, r[1])
	}
	assert.Equal(t, []string{"reports", "payments", "search", "recommendations", "inventory"}, order, "rows most severe first")

	dir := t.TempDir()
	shot := filepath.Join(dir, "status-page.png")
	runChromium(t, "--hide-scrollbars", "--window-size=1600,560", "--screenshot="+shot, srv.URL+"/")
	raw, err := os.ReadFile(shot)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)

	top := map[string]int{}
	for name, c := range map[string][3]uint8{
		"critical": criticalRed, "warning": warningGold, "open": openRed,
		"half-open": halfOpenOak, "closed": closedGreen, "flapping": flapPurple,
	} {
		n, y := countColor(img, c)
		assert.Greater(t, n, 100, "pixels of %s", name)
		top[name] = y
	}
	assert.Less(t, top["critical"], top["warning"], "the critical alert is painted above the warnings")
	assert.Less(t, top["open"], top["half-open"], "open breakers are painted above the half-open one")
	if *screenshotOut != "" {
		require.NoError(t, os.WriteFile(*screenshotOut, raw, 0o644))
	}
}

// countColor counts the pixels within a small distance of c, and returns
// the topmost row that has one (-1 if none).
func countColor(img image.Image, c [3]uint8) (n, top int) {
	near := func(a uint32, b uint8) bool {
		d := int(a>>8) - int(b)
		return d >= -6 && d <= 6
	}
	top = -1
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if near(r, c[0]) && near(g, c[1]) && near(b, c[2]) {
				if top < 0 {
					top = y
				}
				n++
			}
		}
	}
	return n, top
}
