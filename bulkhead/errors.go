package bulkhead

import (
	"errors"

	"github.com/breakerlab/circuit"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrFull is returned at once when every slot is taken and the queue
	// is full (or there is no queue). The call never ran.
	ErrFull = errors.New("bulkhead: full")

	// ErrTimeout is returned when a call waited the maximum wait
	// (WithMaxWait) in the queue without getting a slot. The call never ran.
	ErrTimeout = errors.New("bulkhead: timed out waiting for a slot")

	// ErrInvalidConfig is circuit.ErrInvalidConfig, the module's single
	// sentinel for bad configuration: every error from New matches it and
	// holds a *circuit.ConfigError per bad field.
	ErrInvalidConfig = circuit.ErrInvalidConfig

	// ErrNilContext is returned when ctx is nil.
	ErrNilContext = errors.New("bulkhead: nil context")

	// ErrNilFunc is returned by Execute when fn is nil.
	ErrNilFunc = errors.New("bulkhead: nil func")

	// ErrNilBulkhead is returned by Acquire and Execute on a nil *Bulkhead.
	ErrNilBulkhead = errors.New("bulkhead: nil bulkhead")
)
