package cli

import (
	"fmt"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
)

// stepReporter shows deploy steps: a spinner line per step when stderr is
// a terminal, one plain "step: outcome" line otherwise (logs, CI).
type stepReporter struct {
	ios  *IOStreams
	spin bool
}

func newStepReporter(ios *IOStreams) *stepReporter {
	return &stepReporter{ios: ios, spin: ios.IsOutTTY() && isTerminal(ios.ErrOut)}
}

// Step implements deploy.Reporter.
func (r *stepReporter) Step(name string, fn func() (string, error)) error {
	if !r.spin {
		detail, err := fn()
		if err == nil {
			fmt.Fprintf(r.ios.ErrOut, "%s: %s\n", name, orDone(detail))
		}
		return err
	}
	frames := spinner.MiniDot
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(frames.FPS)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(r.ios.ErrOut, "\r\033[K%s %s…", frames.Frames[i%len(frames.Frames)], name)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	detail, err := fn()
	close(stop)
	wg.Wait()
	if err != nil {
		fmt.Fprintf(r.ios.ErrOut, "\r\033[K✗ %s\n", name)
		return err
	}
	fmt.Fprintf(r.ios.ErrOut, "\r\033[K✓ %s: %s\n", name, orDone(detail))
	return nil
}

func orDone(s string) string {
	if s == "" {
		return "done"
	}
	return s
}
