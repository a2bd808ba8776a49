package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The simulator's page quotes the default run, and README and page show
// its chart: both must be what the command prints and draws today, or a
// change to the simulator or the breaker leaves the docs telling an old
// story. Regenerate with
//
//	go run ./cmd/circuitsim > out.txt   (then paste into docs/simulator.md)
//	go run ./cmd/circuitsim -svg docs/circuitsim.svg
func TestDocsShowTheDefaultRun(t *testing.T) {
	page, err := os.ReadFile("../../docs/simulator.md")
	if err != nil {
		t.Fatal(err)
	}
	const open = "\n```text\n"
	i := strings.Index(string(page), open)
	if i < 0 {
		t.Fatal("docs/simulator.md has no text block for the default run")
	}
	block := string(page[i+len(open):])
	block = block[:strings.Index(block, "```\n")]

	code, out, errOut := runCmd(t)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if block != out {
		t.Errorf("docs/simulator.md's default run differs from the command's output, first at line %d:\ndocs: %q\nrun:  %q",
			diffLine(block, out), lineAt(block, diffLine(block, out)), lineAt(out, diffLine(block, out)))
	}

	svg := filepath.Join(t.TempDir(), "c.svg")
	if code, _, errOut := runCmd(t, "-svg", svg); code != 0 {
		t.Fatalf("-svg: exit %d: %s", code, errOut)
	}
	got, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../docs/circuitsim.svg")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("docs/circuitsim.svg is not the chart the command draws: regenerate it")
	}
}

func diffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

func lineAt(s string, n int) string {
	if lines := strings.Split(s, "\n"); n-1 < len(lines) {
		return lines[n-1]
	}
	return "(end)"
}

// The simulator's page quotes the ramp comparison of slow-recovery: it
// must be what the command prints today.
func TestDocsShowTheRampComparison(t *testing.T) {
	code, out, errOut := runCmd(t, "-scenario", "slow-recovery")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		lines[l] = true
	}
	for _, doc := range []struct {
		path  string
		whole bool
	}{{"../../docs/simulator.md", true}} {
		page, err := os.ReadFile(doc.path)
		if err != nil {
			t.Fatal(err)
		}
		const open = "\n```text\nthe ramp "
		i := strings.Index(string(page), open)
		if i < 0 {
			t.Errorf("%s quotes no ramp comparison", doc.path)
			continue
		}
		block := string(page[i+len("\n```text\n"):])
		block = block[:strings.Index(block, "```\n")]
		if doc.whole && !strings.Contains(out, block) {
			t.Errorf("%s's ramp comparison is not the command's:\n%s\nwant it within:\n%s", doc.path, block, out)
		}
		for _, l := range strings.Split(strings.TrimSuffix(block, "\n"), "\n") {
			if !lines[l] {
				t.Errorf("%s quotes %q, which slow-recovery no longer prints", doc.path, l)
			}
		}
	}
}

// The simulator's page quotes the tenant comparison of noisy-tenant: it
// must be what the command prints today.
func TestDocsShowTheTenantComparison(t *testing.T) {
	code, out, errOut := runCmd(t, "-scenario", "noisy-tenant")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	page, err := os.ReadFile("../../docs/simulator.md")
	if err != nil {
		t.Fatal(err)
	}
	const open = "\n```text\ntenants "
	i := strings.Index(string(page), open)
	if i < 0 {
		t.Fatal("docs/simulator.md quotes no tenant comparison")
	}
	block := string(page[i+len("\n```text\n"):])
	block = block[:strings.Index(block, "```\n")]
	if !strings.Contains(out, block) {
		t.Errorf("docs/simulator.md's tenant comparison is not the command's:\n%s\nwant it within:\n%s", block, out)
	}
}

// The simulator's page quotes sweeps as console blocks, each a command
// ("$ go run ./cmd/circuitsim -sweep ...") and its output: each must be
// what that command prints today.
func TestDocsShowTheSweep(t *testing.T) {
	page, err := os.ReadFile("../../docs/simulator.md")
	if err != nil {
		t.Fatal(err)
	}
	const open = "\n```console\n$ go run ./cmd/circuitsim "
	rest, found := string(page), 0
	for {
		i := strings.Index(rest, open)
		if i < 0 {
			break
		}
		rest = rest[i+len(open):]
		cmdLine, block, _ := strings.Cut(rest, "\n")
		block = block[:strings.Index(block, "```\n")]
		args, err := shellWords(cmdLine)
		if err != nil {
			t.Fatalf("docs/simulator.md: %q: %v", cmdLine, err)
		}
		if !slices.Contains(args, "-sweep") {
			continue
		}
		found++
		code, out, errOut := runCmd(t, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", cmdLine, code, errOut)
		}
		if block != out {
			t.Errorf("docs/simulator.md's output of %q differs from the command's, first at line %d:\ndocs: %q\nrun:  %q",
				cmdLine, diffLine(block, out), lineAt(block, diffLine(block, out)), lineAt(out, diffLine(block, out)))
		}
	}
	if found == 0 {
		t.Error("docs/simulator.md quotes no sweep")
	}
}

// shellWords splits a command line as a POSIX shell would for the simple
// quoting the docs use: words separated by spaces, single quotes keeping
// what they enclose as it is.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case quoted && r == '\'':
			quoted = false
		case quoted:
			w.WriteRune(r)
		case r == '\'':
			quoted, inWord = true, true
		case r == ' ':
			if inWord {
				words = append(words, w.String())
				w.Reset()
			}
			inWord = false
		case strings.ContainsRune(`"\$`+"`", r):
			return nil, fmt.Errorf("unsupported shell character %q", r)
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote")
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

func TestShellWords(t *testing.T) {
	got, err := shellWords(`-sweep -grid 'A=1,2;B=3s'  -top 0 x''y`)
	if want := []string{"-sweep", "-grid", "A=1,2;B=3s", "-top", "0", "xy"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("shellWords = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{`-grid 'A=1`, `-grid "A=1"`, `$HOME`} {
		if _, err := shellWords(bad); err == nil {
			t.Errorf("shellWords(%q): no error", bad)
		}
	}
}
