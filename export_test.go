package circuit

// WithJitterSource makes a test's breaker draw its OpenJitter from f
// instead of math/rand/v2, so that a reference model can draw the same
// numbers. Test-only: users have no reason to choose the jitter.
func WithJitterSource(f func() float64) Option {
	return optionFunc(func(s *settings) { s.rand = f })
}
