package tune

// WithBatchSize makes a Shadows replay every n calls instead of every
// batchSize, so that a test can compare batches with single calls.
// Test-only: the size changes the cost, never a report.
func WithBatchSize(n int) Option { return optionFunc(func(s *settings) { s.batch = n }) }
