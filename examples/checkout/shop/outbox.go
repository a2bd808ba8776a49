package shop

import (
	"context"
	"sync"
)

// TaskKind says what a deferred Task will do when it is replayed.
type TaskKind string

// The work Checkout defers to the Outbox instead of failing the checkout.
const (
	// TaskUserUpdate records the purchase in the user service.
	TaskUserUpdate TaskKind = "user-update"
	// TaskReceiptEmail sends the receipt.
	TaskReceiptEmail TaskKind = "receipt-email"
	// TaskReleaseReservation releases stock reserved for an order whose
	// payment failed, when the release itself could not be done at once.
	TaskReleaseReservation TaskKind = "release-reservation"
)

// Task is a piece of deferred work: everything needed to replay it later,
// and why it was deferred.
type Task struct {
	Kind          TaskKind
	OrderID       string
	UserID        string // TaskUserUpdate
	Email         string // TaskReceiptEmail
	AmountCents   int64  // TaskUserUpdate, TaskReceiptEmail
	ReservationID string // TaskReleaseReservation
	// Cause is the error that deferred the task, such as
	// `circuit: breaker "email" is open`.
	Cause string
}

// Outbox takes deferred work for a worker to replay once the dependency is
// back. A production Outbox is durable (a table written in the order's
// transaction, or a message queue). Implementations must be safe for
// concurrent use.
type Outbox interface {
	Enqueue(ctx context.Context, t Task) error
}

// MemoryOutbox is an in-memory Outbox for tests and demos; it never fails
// and keeps tasks in the order they were enqueued. Its zero value is an
// empty outbox ready to use. It is safe for concurrent use.
type MemoryOutbox struct {
	mu    sync.Mutex // guards tasks
	tasks []Task
}

// Enqueue appends t. It always returns nil.
func (m *MemoryOutbox) Enqueue(_ context.Context, t Task) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tasks = append(m.tasks, t)
	return nil
}

// Tasks returns a copy of the queued tasks, oldest first.
func (m *MemoryOutbox) Tasks() []Task {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Task(nil), m.tasks...)
}

// Len returns how many tasks are queued.
func (m *MemoryOutbox) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tasks)
}
