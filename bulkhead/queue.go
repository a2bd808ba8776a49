package bulkhead

// waiter is a call in the queue.
type waiter struct {
	prev, next *waiter
	ready      chan struct{} // receives once the slot is handed over; buffered
	// granted and permit are set, under limiter.mu, when a slot is handed
	// to the waiter; the send on ready publishes permit to it.
	granted bool
	permit  Permit
}

// push appends w to the queue. It requires l.mu.
func (l *limiter) push(w *waiter) {
	w.prev = l.tail
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	l.queued++
	l.peakQueued = max(l.peakQueued, l.queued)
}

// remove unlinks w from the queue. It requires l.mu.
func (l *limiter) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next = nil, nil
	l.queued--
}
