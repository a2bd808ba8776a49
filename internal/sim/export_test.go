package sim

import (
	"time"

	"github.com/breakerlab/circuit"
)

// CheckCost exposes checkCost, with its limit, to the external tests.
func CheckCost(sc Scenario, cfg circuit.Config, limit time.Duration) error {
	return checkCost(&sc, cfg, limit)
}

// PredictedCalls and PredictedTransitions expose predictCost's bounds.
func PredictedCalls(sc Scenario, cfg circuit.Config) float64 { return predictCost(&sc, cfg).calls }

func PredictedTransitions(sc Scenario, cfg circuit.Config) float64 {
	return predictCost(&sc, cfg).transitions
}

// ShareAt exposes Phase.capacityShare.
func (ph Phase) ShareAt(t time.Duration) float64 { return ph.capacityShare(t) }

// PredictedCost exposes predictCost's total.
func PredictedCost(sc Scenario, cfg circuit.Config) time.Duration {
	return predictCost(&sc, cfg).total()
}
