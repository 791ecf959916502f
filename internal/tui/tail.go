package tui

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dsctl/dsctl/internal/client"
)

// tailGens numbers follows across all tail panes, so a message of a
// follow that was stopped (or belongs to another pane) is recognised.
var tailGens atomic.Uint64

type tailLine struct {
	at     time.Time
	offset string
	text   string
}

// tailModel is a live tail pane: it runs Source.Follow in a command,
// which hands each batch to Update through a channel, one message at a
// time. Stopping it cancels the follow.
type tailModel struct {
	env   env
	title string

	id, from string
	gen      uint64
	ctx      context.Context
	cancel   context.CancelFunc
	ch       chan tea.Msg

	lines    []tailLine
	received int
	live     bool   // the follow is connected and caught up
	status   string // a lost connection being retried
	ended    string // why the follow ended
	scroll   int    // lines scrolled back from the newest
	height   int    // lines of messages last drawn
}

func newTail(e env, title string) tailModel { return tailModel{env: e, title: title} }

// running reports whether a follow is under way.
func (t *tailModel) running() bool { return t.cancel != nil }

// start (re)starts the pane on stream id from `from`.
func (t *tailModel) start(id, from string) tea.Cmd {
	t.stop()
	gen := tailGens.Add(1)
	ctx, cancel := context.WithCancel(t.env.ctx)
	ch := make(chan tea.Msg, 64)
	t.id, t.from, t.gen, t.ctx, t.cancel, t.ch = id, from, gen, ctx, cancel, ch
	t.lines, t.received, t.live, t.status, t.ended, t.scroll = nil, 0, false, "", "", 0
	src := t.env.src
	run := func() tea.Msg {
		send := func(m tea.Msg) bool {
			select {
			case ch <- m:
				return true
			case <-ctx.Done():
				return false
			}
		}
		err := src.Follow(ctx, id, from, client.FollowOptions{
			OnReconnect: func(err error, attempt int) { send(tailRetryMsg{gen: gen, err: err, attempt: attempt}) },
		}, func(b *client.Batch) error {
			if !send(tailBatchMsg{gen: gen, batch: b}) {
				return ctx.Err()
			}
			return nil
		})
		if ctx.Err() == nil {
			send(tailDoneMsg{gen: gen, err: err})
		}
		return nil
	}
	return tea.Batch(run, t.wait())
}

// wait delivers the follow's next message.
func (t *tailModel) wait() tea.Cmd {
	ctx, ch := t.ctx, t.ch
	return func() tea.Msg {
		select {
		case m := <-ch:
			return m
		case <-ctx.Done():
			return nil
		}
	}
}

// stop cancels the follow; its late messages are ignored.
func (t *tailModel) stop() {
	if t.cancel != nil {
		t.cancel()
	}
	t.cancel, t.gen = nil, 0
	t.live = false
}

// update handles the follow's messages; ok is false for messages that
// are not this pane's.
func (t *tailModel) update(msg tea.Msg) (cmd tea.Cmd, ok bool) {
	switch m := msg.(type) {
	case tailBatchMsg:
		if m.gen != t.gen || t.gen == 0 {
			return nil, false
		}
		t.live, t.status = true, ""
		now := t.env.opts.Now()
		for _, msg := range m.batch.Messages {
			t.add(tailLine{at: now, offset: msg.Offset, text: messageText(msg.Data, m.batch.JSON)})
		}
		if m.batch.Closed {
			t.ended = "stream closed"
		}
		return t.wait(), true
	case tailRetryMsg:
		if m.gen != t.gen || t.gen == 0 {
			return nil, false
		}
		t.live = false
		if unreachable(m.err) {
			t.status = unreachableStatus
		} else {
			t.status = "connection lost (" + oneLine(m.err.Error()) + "), retrying…"
		}
		return t.wait(), true
	case tailDoneMsg:
		if m.gen != t.gen || t.gen == 0 {
			return nil, false
		}
		t.cancel()
		t.cancel, t.live, t.status = nil, false, ""
		if m.err != nil {
			t.ended = errText("tail", m.err)
		} else if t.ended == "" {
			t.ended = "stream closed"
		}
		return nil, true
	}
	return nil, false
}

func (t *tailModel) add(l tailLine) {
	t.lines = append(t.lines, l)
	t.received++
	if t.scroll > 0 {
		t.scroll++ // keep what the reader is looking at in place
	}
	if max := t.env.opts.TailLines; len(t.lines) > max {
		t.lines = append(t.lines[:0:0], t.lines[len(t.lines)-max:]...)
	}
	t.clampScroll()
}

func (t *tailModel) clampScroll() {
	maxScroll := max(len(t.lines)-max(t.height, 1), 0)
	t.scroll = min(max(t.scroll, 0), maxScroll)
}

// scrollKey moves through the pane's history; ok is false for other keys.
func (t *tailModel) scrollKey(k KeyMap, msg tea.KeyMsg) bool {
	page := max(t.height-1, 1)
	switch {
	case key.Matches(msg, k.Up):
		t.scroll++
	case key.Matches(msg, k.Down):
		t.scroll--
	case key.Matches(msg, k.PageUp):
		t.scroll += page
	case key.Matches(msg, k.PageDown):
		t.scroll -= page
	case key.Matches(msg, k.Top):
		t.scroll = len(t.lines)
	case key.Matches(msg, k.Bottom):
		t.scroll = 0
	default:
		return false
	}
	t.clampScroll()
	return true
}

// state is the pane's connection state for its title.
func (t *tailModel) state() string {
	switch {
	case t.ended != "":
		return "ended"
	case t.status != "":
		return "retrying…"
	case t.live:
		return "live"
	case t.running():
		return "connecting…"
	}
	return "stopped"
}

// setHeight sets the pane's height in lines, its title included.
func (t *tailModel) setHeight(h int) {
	t.height = max(h-1, 0)
	t.clampScroll()
}

// view draws the pane in w×h cells: a titled rule, then the newest
// messages (or those scrolled back to).
func (t tailModel) view(w, h int) string {
	if h <= 0 {
		return ""
	}
	t.height = h - 1
	t.clampScroll()
	title := fmt.Sprintf("%s · %s · %s", t.title, fromLabel(t.from), t.state())
	if t.received > 0 {
		title += fmt.Sprintf(" · %d received", t.received)
	}
	if t.scroll > 0 {
		title += fmt.Sprintf(" · ↑%d", t.scroll)
	}
	rows := []string{rule(title, w)}
	end := len(t.lines) - t.scroll
	begin := max(end-t.height, 0)
	for _, l := range t.lines[begin:end] {
		off := shortOffset(l.offset)
		if n := 5 - len(off); n > 0 {
			off = strings.Repeat(" ", n) + off
		}
		rows = append(rows, clip(styles.Dim.Render(l.at.Format("15:04:05")+" "+off)+"  "+l.text, w))
	}
	if len(t.lines) == 0 && t.height > 0 {
		switch {
		case t.ended != "":
		case t.live:
			rows = append(rows, styles.Dim.Render("waiting for messages…"))
		case t.running():
			rows = append(rows, styles.Dim.Render("connecting…"))
		}
	}
	if t.ended != "" && len(rows) < h {
		rows = append(rows, styles.Dim.Render("— "+t.ended+" —"))
	}
	return fit(strings.Join(rows, "\n"), w, h)
}
