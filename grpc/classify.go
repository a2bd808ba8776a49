package grpc

import (
	"errors"

	"github.com/breakerlab/circuit"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// numCodes is the number of status codes gRPC defines, OK (0) through
// Unauthenticated (16).
const numCodes = 17

// errCallPanicked is what a breaker records for a call whose invoker
// panicked; the panic itself goes on up the caller's stack.
var errCallPanicked = errors.New("grpc: the call panicked")

// classifier judges a finished call by its status code. It is a value
// with a fixed-size table so that judging a call allocates nothing.
type classifier struct {
	failure [numCodes]bool // indexed by codes.Code
}

func newClassifier(failures []codes.Code) classifier {
	var c classifier
	for _, code := range failures {
		c.failure[code] = true
	}
	return c
}

// outcome is the breakers' classifier. Canceled is ignored because the
// caller gave up; a rejection by another breaker further down the chain is
// ignored because that breaker has already judged the server, as a
// circuit.Group's parent ignores its keys' rejections.
func (c *classifier) outcome(_ struct{}, err error) circuit.Outcome {
	if err == nil {
		return circuit.Success
	}
	if err == errCallPanicked {
		return circuit.Failure
	}
	code := status.Code(err)
	switch {
	case code == codes.Canceled:
		return circuit.Ignored
	case code == codes.Unavailable && errors.Is(err, circuit.ErrOpen):
		return circuit.Ignored
	case uint32(code) < numCodes && c.failure[code]:
		return circuit.Failure
	}
	return circuit.Success
}
