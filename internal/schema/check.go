package schema

import (
	"errors"
	"fmt"
	"math"

	"github.com/breakerlab/circuit"
)

// Fixed is a list of breakers that never changes; it satisfies both
// exporters' Source.
type Fixed []circuit.View

// Breakers returns the list.
func (f Fixed) Breakers() []circuit.View { return f }

// CheckViews returns views as a Fixed source, or a *circuit.ConfigError
// from package pkg for each nil view and each repeated name, joined.
func CheckViews(pkg string, views []circuit.View) (Fixed, error) {
	var errs []error
	seen := make(map[string]bool, len(views))
	list := make(Fixed, 0, len(views))
	for i, v := range views {
		if v == nil {
			errs = append(errs, &circuit.ConfigError{Pkg: pkg, Field: fmt.Sprintf("views[%d]", i), Value: nil, Rule: "must not be nil"})
			continue
		}
		name := v.Name()
		if seen[name] {
			errs = append(errs, &circuit.ConfigError{Pkg: pkg, Field: fmt.Sprintf("views[%d].Name", i), Value: fmt.Sprintf("%q", name), Rule: "must be unique among the views"})
			continue
		}
		seen[name] = true
		list = append(list, v)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return list, nil
}

// CheckBuckets returns a *circuit.ConfigError from package pkg, for field
// LatencyBuckets, unless b is non-empty, finite, positive and strictly
// increasing.
func CheckBuckets(pkg string, b []float64) error {
	if len(b) == 0 {
		return &circuit.ConfigError{Pkg: pkg, Field: "LatencyBuckets", Value: b, Rule: "must not be empty"}
	}
	for i, x := range b {
		if math.IsNaN(x) || math.IsInf(x, 0) || x <= 0 || (i > 0 && x <= b[i-1]) {
			return &circuit.ConfigError{Pkg: pkg, Field: "LatencyBuckets", Value: b, Rule: "must be finite, positive and strictly increasing"}
		}
	}
	return nil
}

// Missing returns a *circuit.ConfigError from package pkg saying that
// field must not be nil.
func Missing(pkg, field string) error {
	return &circuit.ConfigError{Pkg: pkg, Field: field, Value: nil, Rule: "must not be nil"}
}
