package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// root is the repository, from this package's folder.
const repoRoot = "../.."

// TestRelativeLinksResolve checks every relative link and image in
// README.md and docs/*.md: the file or folder must exist, and an #anchor
// into a Markdown file must match one of its headings.
func TestRelativeLinksResolve(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(repoRoot, "README.md")}, files...)
	if len(files) < 2 {
		t.Fatalf("found only %v: the test is not looking where the docs are", files)
	}
	links := 0
	for _, f := range files {
		problems, n, err := checkFileUnder(repoRoot, f)
		if err != nil {
			t.Fatal(err)
		}
		links += n
		for _, p := range problems {
			t.Errorf("%s", p)
		}
	}
	if links == 0 {
		t.Error("no relative links found: the parser is broken")
	}
}

// problem is one link that does not resolve.
type problem struct {
	file string // the Markdown file, relative to the repository
	line int
	link string // as written
	why  string
}

func (p problem) String() string {
	return fmt.Sprintf("%s:%d: link %q: %s", p.file, p.line, p.link, p.why)
}

var (
	// [text](target "title") and ![alt](target); target without spaces or
	// in <angle brackets>.
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)`)
	// [label]: target
	refLink = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)`)
	// src="..." and href="..." in inline HTML.
	htmlLink = regexp.MustCompile(`(?:src|href)="([^"]*)"`)
	codeSpan = regexp.MustCompile("`[^`]*`")
)

// checkFileUnder returns the links of the Markdown file at path, in the
// repository at root, that do not resolve, and how many relative links it
// has.
func checkFileUnder(root, path string) (problems []problem, links int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	name, _ := filepath.Rel(root, path)
	fence := ""
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		var targets []string
		for _, re := range []*regexp.Regexp{inlineLink, refLink, htmlLink} {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				targets = append(targets, strings.Trim(m[1], "<>"))
			}
		}
		for _, link := range targets {
			if !isRelative(link) {
				continue
			}
			links++
			if why := resolve(root, path, link); why != "" {
				problems = append(problems, problem{file: name, line: i + 1, link: link, why: why})
			}
		}
	}
	return problems, links, nil
}

// isRelative reports whether link points into the repository: no scheme
// (https:, mailto:) and not protocol-relative.
func isRelative(link string) bool {
	if link == "" || strings.HasPrefix(link, "//") {
		return false
	}
	if i := strings.IndexAny(link, ":/#?"); i > 0 && link[i] == ':' {
		return false
	}
	return true
}

// resolve checks link, found in the file at from in the repository at
// root, and returns why it does not resolve ("" if it does).
func resolve(root, from, link string) string {
	path, anchor, _ := strings.Cut(link, "#")
	path, _, _ = strings.Cut(path, "?")
	target := from
	if path != "" {
		if strings.HasPrefix(path, "/") {
			target = filepath.Join(root, path)
		} else {
			target = filepath.Join(filepath.Dir(from), path)
		}
		if _, err := os.Stat(target); err != nil {
			return "no such file or folder"
		}
	}
	if anchor == "" || !strings.HasSuffix(target, ".md") {
		return ""
	}
	data, err := os.ReadFile(target)
	if err != nil {
		return err.Error()
	}
	anchors := headingAnchors(string(data))
	if !anchors[anchor] {
		return fmt.Sprintf("no heading with anchor #%s in %s", anchor, filepath.Base(target))
	}
	return ""
}

// headingAnchors returns the anchors GitHub gives the headings of a
// Markdown document: lower case, punctuation dropped, spaces as hyphens,
// and -1, -2, ... on repeats.
func headingAnchors(doc string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	fence := ""
	for _, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		text, ok := headingText(line)
		if !ok {
			continue
		}
		a := slug(text)
		if n := seen[a]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

// headingText returns the text of an ATX heading line ("## Text ##").
func headingText(line string) (string, bool) {
	if len(line)-len(strings.TrimLeft(line, " ")) > 3 {
		return "", false
	}
	line = strings.TrimLeft(line, " ")
	level := len(line) - len(strings.TrimLeft(line, "#"))
	if level < 1 || level > 6 || (len(line) > level && line[level] != ' ') {
		return "", false
	}
	text := strings.TrimSpace(line[level:])
	text = strings.TrimSpace(strings.TrimRight(text, "#"))
	// A link in a heading contributes its text only.
	text = inlineLink.ReplaceAllStringFunc(text, func(m string) string {
		return m[strings.Index(m, "[")+1 : strings.Index(m, "]")]
	})
	return text, true
}

func slug(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}
