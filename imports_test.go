package circuit_test

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLibraryImportsOnlyStdlib keeps the promise that a program using this
// module's library packages (the core, retry, bulkhead, health, monitor,
// circuithttp and what they use) downloads nothing else: their non-test
// code imports only the standard library and this module. Programs
// (package main), examples, test-support packages (named *test) and the
// simulator's engine (internal/sim, used only by cmd/circuitsim, which
// runs on clock's Mock) are not libraries. Directories with a go.mod of
// their own are other modules, with dependencies of their own.
func TestLibraryImportsOnlyStdlib(t *testing.T) {
	const module = "github.com/breakerlab/circuit"
	checked := 0
	err := filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if dir != "." {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			switch name := d.Name(); {
			case name == "testdata", name == "examples", strings.HasPrefix(name, "."), strings.HasSuffix(name, "test"):
				return filepath.SkipDir
			case filepath.ToSlash(dir) == "internal/sim":
				return filepath.SkipDir
			}
		}
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		if pkg.Name == "main" {
			return nil
		}
		checked++
		for _, imp := range pkg.Imports {
			first, _, _ := strings.Cut(imp, "/")
			if strings.Contains(first, ".") && imp != module && !strings.HasPrefix(imp, module+"/") {
				t.Errorf("%s (non-test code) imports %s: library packages import only the standard library and this module", dir, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 6 {
		t.Fatalf("checked %d library packages, want at least the core, retry, bulkhead, health, monitor and circuithttp", checked)
	}
}
