package docs

import (
	"os"
	"path/filepath"
	"testing"
)

// readmeLimit is the README's size cap (issue #12): a newcomer reads it to
// the end; long explanations go to docs/.
const readmeLimit = 15000

func TestReadmeStaysShort(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > readmeLimit {
		t.Errorf("README.md is %d bytes, over its cap of %d: move detail to a page under docs/", len(b), readmeLimit)
	}
}
