package sim

import "time"

// timed is what a queue orders: an event with a time.
type timed interface{ when() time.Duration }

// queue is a priority queue of events, earliest first, ties broken in the
// order they were pushed, which keeps runs repeatable. The zero value is
// an empty queue. Both engines (a service's run and the fleet's) use one.
type queue[E timed] struct {
	items []queued[E] // a binary heap
	seq   uint64      // pushes so far
}

type queued[E timed] struct {
	seq uint64
	ev  E
}

func (a *queued[E]) before(b *queued[E]) bool {
	ta, tb := a.ev.when(), b.ev.when()
	return ta < tb || (ta == tb && a.seq < b.seq)
}

// push adds ev.
func (q *queue[E]) push(ev E) {
	q.seq++
	q.items = append(q.items, queued[E]{seq: q.seq, ev: ev})
	i := len(q.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.items[i].before(&q.items[p]) {
			break
		}
		q.items[i], q.items[p] = q.items[p], q.items[i]
		i = p
	}
}

// next returns the time of the earliest event, and false if there is none.
func (q *queue[E]) next() (time.Duration, bool) {
	if len(q.items) == 0 {
		return 0, false
	}
	return q.items[0].ev.when(), true
}

// pop removes and returns the earliest event. The queue must not be empty.
func (q *queue[E]) pop() E {
	top := q.items[0].ev
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items[last] = queued[E]{}
	q.items = q.items[:last]
	i := 0
	for {
		l, m := 2*i+1, i
		if l < last && q.items[l].before(&q.items[m]) {
			m = l
		}
		if l+1 < last && q.items[l+1].before(&q.items[m]) {
			m = l + 1
		}
		if m == i {
			return top
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
}
