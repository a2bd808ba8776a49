package health_test

import (
	"go/build"
	"slices"
	"testing"

	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit/health"
)

// Tests keep driving time with the benbjohnson mock, as it is.
var _ health.Clock = (*clock.Mock)(nil)

// The package's own code reads time through its Clock only, so a program
// that never mocks time does not need the clock module for health.
func TestNoClockModuleImport(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(pkg.Imports, "github.com/benbjohnson/clock") {
		t.Fatalf("non-test code imports github.com/benbjohnson/clock: %v", pkg.Imports)
	}
}
