package health

// CheckRunning reports whether a check goroutine, possibly abandoned, is
// still running, so that tests can wait for one to exit.
func (w *Watcher) CheckRunning() bool { return w.busy.Load() }
