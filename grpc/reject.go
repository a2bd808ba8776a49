package grpc

import (
	"time"

	"github.com/breakerlab/circuit"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ErrorInfoReason and ErrorInfoDomain identify a rejection's
// google.rpc.ErrorInfo detail, for clients that tell a breaker's
// Unavailable from the server's own.
const (
	ErrorInfoReason = "CIRCUIT_OPEN"
	ErrorInfoDomain = "github.com/breakerlab/circuit"
)

// rejection is the error of a call a breaker refused. status.FromError
// and status.Code read it through GRPCStatus (codes.Unavailable, with a
// RetryInfo and an ErrorInfo detail), and it unwraps to the
// *circuit.OpenError, so errors.Is(err, circuit.ErrOpen) and errors.As
// work on it too. A gRPC server handler that returns it sends the status
// with its details on to its own caller.
//
// A rejection is shared by the calls that get it (see Interceptor.reject),
// so it is never changed once built.
type rejection struct {
	st    *status.Status
	open  *circuit.OpenError
	at    time.Time     // open.RetryAt when built
	delay time.Duration // the RetryInfo delay
}

func (e *rejection) Error() string              { return e.st.Err().Error() }
func (e *rejection) GRPCStatus() *status.Status { return e.st }
func (e *rejection) Unwrap() error              { return e.open }

// retryDelay is the delay a rejection carries: the time until oe.RetryAt
// as of now, rounded up to the millisecond, so that the rejections of one
// millisecond can share one status and a client never retries too soon.
func retryDelay(oe *circuit.OpenError, now time.Time) time.Duration {
	d := oe.RetryAfter(now)
	if r := d % time.Millisecond; r != 0 {
		d += time.Millisecond - r
	}
	return d
}

// newRejection builds the status of a call rejected with oe, carrying
// delay.
func newRejection(oe *circuit.OpenError, delay time.Duration) *rejection {
	st := status.New(codes.Unavailable, oe.Error())
	meta := map[string]string{
		"breaker": oe.Name,
		"state":   oe.State.String(),
		"reason":  oe.Reason.String(),
	}
	if !oe.RetryAt.IsZero() {
		meta["retry_at"] = oe.RetryAt.UTC().Format(time.RFC3339Nano)
	}
	withDetails, err := st.WithDetails(
		&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)},
		&errdetails.ErrorInfo{Reason: ErrorInfoReason, Domain: ErrorInfoDomain, Metadata: meta},
	)
	if err == nil { // marshalling these two messages cannot fail; keep the bare status if it ever does
		st = withDetails
	}
	return &rejection{st: st, open: oe, at: oe.RetryAt, delay: delay}
}

// RetryDelay returns the delay of the google.rpc.RetryInfo detail of err's
// status, and whether there was one. It reads a rejection from this
// package's interceptors, locally or after it has crossed the wire from a
// server that returned it, as well as a RetryInfo any server sent.
func RetryDelay(err error) (time.Duration, bool) {
	st, ok := status.FromError(err)
	if !ok || st == nil {
		return 0, false
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}
