package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the README's Quick start from main.go")

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	// Retry-After is RetryAfter(now) rounded up: 30 for the default 30s
	// OpenTimeout, as long as less than a second passes between the trip
	// and the rejection.
	want := `request 1: 200 {"price": 42} (breaker closed)
request 2: 200 {"price": 42} (breaker closed)
request 3: 502 pricing failed (breaker closed)
request 4: 502 pricing failed (breaker closed)
request 5: 502 pricing failed (breaker open)
request 6: 503 pricing unavailable, Retry-After: 30 (breaker open)
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	// The README shows this output under the program.
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	if shown := "```console\n$ go run ./examples/quickstart\n" + want + "```\n"; !strings.Contains(string(readme), shown) {
		t.Errorf("README.md does not show the program's output as:\n%s", shown)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, c := range []struct {
		wait time.Duration
		want int
	}{
		// A rejection never says "retry after 0": RetryAfter is 0 once
		// RetryAt has passed, and a client would come straight back.
		{0, 1},
		{time.Nanosecond, 1},
		{time.Second, 1},
		{time.Second + time.Millisecond, 2},
		{29*time.Second + 900*time.Millisecond, 30},
		{30 * time.Second, 30},
	} {
		if got := retryAfterSeconds(c.wait); got != c.want {
			t.Errorf("retryAfterSeconds(%v) = %d, want %d", c.wait, got, c.want)
		}
	}
}

const (
	beginMarker = "// quickstart:begin\n"
	endMarker   = "// quickstart:end\n"
	readmePath  = "../../README.md"
	// The README's Quick start is the first go code block after this heading.
	quickStartHeading = "\n## Quick start\n"
)

// TestReadmeQuickStartIsThisFile checks that the README's Quick start is
// main.go's text between the markers, byte for byte, so that the README
// shows a program that compiles and that this package's tests run.
// go test -update rewrites the README's block from main.go.
func TestReadmeQuickStartIsThisFile(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	want, err := between(string(src), beginMarker, endMarker)
	if err != nil {
		t.Fatalf("main.go: %v", err)
	}
	want = strings.TrimRight(want, "\n") + "\n"

	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	start, end, err := quickStartBlock(string(readme))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	got := string(readme[start:end])
	if got == want {
		return
	}
	if *update {
		fixed := string(readme[:start]) + want + string(readme[end:])
		if err := os.WriteFile(readmePath, []byte(fixed), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the README's Quick start from main.go")
		return
	}
	t.Errorf("README.md's Quick start differs from main.go between the markers, first at line %d of the block:\n"+
		"README: %q\nmain.go: %q\n(go test ./examples/quickstart -update rewrites the README from main.go)",
		firstDiffLine(got, want), lineOf(got, firstDiffLine(got, want)), lineOf(want, firstDiffLine(got, want)))
}

// between returns the text of s after the line begin and before the line end.
func between(s, begin, end string) (string, error) {
	i := strings.Index(s, begin)
	if i < 0 || (i > 0 && s[i-1] != '\n') {
		return "", fmt.Errorf("no line %q", strings.TrimSpace(begin))
	}
	rest := s[i+len(begin):]
	j := strings.Index(rest, end)
	if j < 0 || (j > 0 && rest[j-1] != '\n') {
		return "", fmt.Errorf("no line %q after %q", strings.TrimSpace(end), strings.TrimSpace(begin))
	}
	return rest[:j], nil
}

// quickStartBlock returns the byte range of the contents of the first go
// code block after the Quick start heading, fences excluded.
func quickStartBlock(readme string) (start, end int, err error) {
	h := strings.Index(readme, quickStartHeading)
	if h < 0 {
		return 0, 0, fmt.Errorf("no heading %q", strings.TrimSpace(quickStartHeading))
	}
	const open = "\n```go\n"
	o := strings.Index(readme[h:], open)
	if o < 0 {
		return 0, 0, fmt.Errorf("no go code block after %q", strings.TrimSpace(quickStartHeading))
	}
	start = h + o + len(open)
	if strings.HasPrefix(readme[start:], "```\n") {
		return start, start, nil // an empty block
	}
	c := strings.Index(readme[start:], "\n```\n")
	if c < 0 {
		return 0, 0, fmt.Errorf("the Quick start's code block is not closed")
	}
	return start, start + c + 1, nil
}

func firstDiffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

func lineOf(s string, n int) string {
	lines := strings.Split(s, "\n")
	if n-1 < len(lines) {
		return lines[n-1]
	}
	return "(end)"
}

// The helpers the README check relies on find the block, find the
// markers, and point at the first differing line.
func TestQuickStartHelpers(t *testing.T) {
	readme := "# x\n\n## Quick start\n\ntext\n\n```go\npackage main\n```\n\n## Next\n"
	start, end, err := quickStartBlock(readme)
	if err != nil {
		t.Fatal(err)
	}
	if got := readme[start:end]; got != "package main\n" {
		t.Errorf("block = %q, want %q", got, "package main\n")
	}
	// An empty block ends at its own fence, not at a later block's.
	empty := "# x\n\n## Quick start\n\n```go\n```\n\n```console\n$ run\n```\n"
	if start, end, err := quickStartBlock(empty); err != nil || start != end {
		t.Errorf("empty block: %d..%d, %v; want an empty range", start, end, err)
	}
	if _, _, err := quickStartBlock("# x\n## Quick start\nno code\n"); err == nil {
		t.Error("a Quick start without a code block was accepted")
	}
	if got, err := between("a\n"+beginMarker+"b\n"+endMarker, beginMarker, endMarker); err != nil || got != "b\n" {
		t.Errorf("between = %q, %v; want %q", got, err, "b\n")
	}
	if _, err := between("a\n"+beginMarker+"b\n", beginMarker, endMarker); err == nil {
		t.Error("a missing end marker was accepted")
	}
	if n := firstDiffLine("a\nb\nc\n", "a\nb \nc\n"); n != 2 {
		t.Errorf("firstDiffLine = %d, want 2", n)
	}
}
