package engine

import "time"

// The reaper deletes streams whose TTL or Expires-At has passed, so that
// expiry releases fork references even when nobody reads the stream.
// It sleeps on one timer set to the earliest deadline; commits that create
// a deadline, and readers that find an expired stream, kick it awake.

const maxReapSleep = time.Hour

func (e *Engine) kickReaper() {
	select {
	case e.reapKick <- struct{}{}:
	default:
	}
}

func (e *Engine) reaper() {
	defer close(e.reapDone)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-e.reapStop:
			return
		case <-timer.C:
		case <-e.reapKick:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		timer.Reset(e.reapOnce())
	}
}

// reapOnce expires what is due and returns how long to sleep.
func (e *Engine) reapOnce() time.Duration {
	now := e.now()
	next := int64(0)
	var due []*stream
	e.mu.RLock()
	for _, s := range e.streams {
		if v, _ := s.snapshot(); v == nil || v.gone || v.soft {
			continue
		}
		d := s.deadline()
		if d == 0 {
			continue
		}
		if d <= now {
			due = append(due, s)
			continue
		}
		if next == 0 || d < next {
			next = d
		}
	}
	e.mu.RUnlock()
	if len(due) > 0 {
		err := e.submit(func(bc *batchCtx) error {
			for _, s := range due {
				if !s.w.gone && !s.w.soft && s.expired(bc.now) {
					bc.expire(s)
				}
			}
			return nil
		})
		if err != nil {
			return maxReapSleep // shutting down
		}
	}
	if next == 0 {
		return maxReapSleep
	}
	return max(time.Duration(next-now)*time.Millisecond, 10*time.Millisecond)
}
