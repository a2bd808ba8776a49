package monitor

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/breakerlab/circuit"
)

// transitionLog is one breaker's state in the transition log
// (Config.TransitionLogInterval): the interval under way and the
// transitions counted in it but not yet logged.
type transitionLog struct {
	until   time.Time // the interval under way ends; zero before the first line
	count   int       // transitions counted and not yet logged
	first   time.Time // when the first of them took effect
	last    time.Time // and the last
	state   circuit.State
	reasons map[circuit.Reason]int
}

// logLine is a log record decided under Monitor.mu and written after it
// is released.
type logLine struct {
	level slog.Level
	msg   string
	attrs []slog.Attr
}

// logTransition logs t at once if no interval is under way and nothing is
// pending, and counts it otherwise; a count whose interval is over is
// logged as one summary that includes t. It appends what to write to logs.
// It requires Monitor.mu, and tr.lastAt set by apply.
func (tr *tracker) logTransition(logs []logLine, t circuit.Transition, interval time.Duration) []logLine {
	l := &tr.log
	at := tr.lastAt
	if !l.until.IsZero() && at.Before(l.until) {
		l.add(t, at)
		return logs
	}
	if l.count == 0 {
		level := slog.LevelInfo
		if t.To == circuit.Open {
			level = slog.LevelWarn // as the core's own log: opening is what an operator must see
		}
		l.until = at.Add(interval)
		return append(logs, logLine{level: level, msg: "monitor: breaker transition", attrs: []slog.Attr{
			slog.String("breaker", t.Name),
			slog.Any("from", t.From),
			slog.Any("to", t.To),
			slog.Any("reason", t.Reason),
			slog.Time("at", at),
		}})
	}
	l.add(t, at)
	logs = l.summary(logs, t.Name, interval)
	l.until = at.Add(interval)
	return logs
}

// flushLog logs the pending count as a summary if its interval is over at
// now, and starts the next interval at now, so that a breaker that keeps
// flapping keeps being summarised. A zero now flushes whatever is pending:
// the tracker is being dropped. It requires Monitor.mu.
func (tr *tracker) flushLog(logs []logLine, name string, now time.Time, interval time.Duration) []logLine {
	l := &tr.log
	if l.count == 0 {
		return logs
	}
	if now.IsZero() {
		return l.summary(logs, name, interval)
	}
	if now.Before(l.until) {
		return logs
	}
	logs = l.summary(logs, name, interval)
	l.until = now.Add(interval)
	return logs
}

// add counts t, which took effect at at.
func (l *transitionLog) add(t circuit.Transition, at time.Time) {
	if l.count == 0 {
		l.first = at
		l.reasons = make(map[circuit.Reason]int)
	}
	l.count++
	l.last = at
	l.state = t.To
	l.reasons[t.Reason]++
}

// summary appends the summary line of the pending count and resets it.
func (l *transitionLog) summary(logs []logLine, name string, interval time.Duration) []logLine {
	reasons := make([]circuit.Reason, 0, len(l.reasons))
	for r := range l.reasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool { return reasons[i] < reasons[j] })
	byReason := make([]any, len(reasons))
	for i, r := range reasons {
		byReason[i] = slog.Int(r.String(), l.reasons[r])
	}
	logs = append(logs, logLine{level: slog.LevelWarn, msg: "monitor: breaker transitions summarised", attrs: []slog.Attr{
		slog.String("breaker", name),
		slog.Int("transitions", l.count),
		slog.String("interval", interval.String()),
		slog.Time("first_at", l.first),
		slog.Time("last_at", l.last),
		slog.Any("state", l.state),
		slog.Group("reasons", byReason...),
	}})
	l.count, l.reasons = 0, nil
	return logs
}

// writeLogs writes lines to the monitor's logger. It must be called
// without Monitor.mu: the logger's handler is the user's code.
func (m *Monitor) writeLogs(lines []logLine) {
	for _, l := range lines {
		m.logger.LogAttrs(context.Background(), l.level, l.msg, l.attrs...)
	}
}
