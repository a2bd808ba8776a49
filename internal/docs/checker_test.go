package docs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The checker finds each kind of broken link, names file and line, and
// accepts the good ones: without this, a parser that found nothing would
// pass the real test.
func TestCheckerFindsBrokenLinks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("docs/other.md", "# Other page\n\n## Retry budget\n\n## Notes\n\n## Notes\n")
	write("docs/pic.svg", "<svg/>")
	page := write("docs/page.md", strings.Join([]string{
		"# Page",                                               // 1
		"[ok](other.md) and ![pic](pic.svg)",                   // 2
		"[ok anchor](other.md#retry-budget)",                   // 3
		"[repeat](other.md#notes-1) [self](#page)",             // 4
		"[web](https://example.com/x.md) [mail](mailto:a@b.c)", // 5
		"[gone](missing.md)",                                   // 6
		"![gone](img/none.png)",                                // 7
		"[bad anchor](other.md#retry)",                         // 8
		"[bad self](#nowhere)",                                 // 9
		"```",                                                  // 10
		"[in code](nope.md)",                                   // 11
		"```",                                                  // 12
		"`[in a span](nope.md)`",                               // 13
		"[ref]: ../nothing.md",                                 // 14
		`<img src="pic.svg"> <a href="gone.html">x</a>`,        // 15
	}, "\n"))

	problems, links, err := checkFileUnder(dir, page)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{
		`docs/page.md:6: link "missing.md": no such file or folder`,
		`docs/page.md:7: link "img/none.png": no such file or folder`,
		`docs/page.md:8: link "other.md#retry": no heading with anchor #retry in other.md`,
		`docs/page.md:9: link "#nowhere": no heading with anchor #nowhere in page.md`,
		`docs/page.md:14: link "../nothing.md": no such file or folder`,
		`docs/page.md:15: link "gone.html": no such file or folder`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if links != 12 {
		t.Errorf("%d relative links, want 12", links)
	}
}

func TestSlug(t *testing.T) {
	for text, want := range map[string]string{
		"Quick start": "quick-start",
		"Composition: retry → bulkhead → breaker → call": "composition-retry--bulkhead--breaker--call",
		"See it first: `circuitsim`":                     "see-it-first-circuitsim",
		"Retry (`retry/`)":                               "retry-retry",
	} {
		if got := slug(text); got != want {
			t.Errorf("slug(%q) = %q, want %q", text, got, want)
		}
	}
}
