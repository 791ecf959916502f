package cli

import (
	"io"
	"strings"
	"text/tabwriter"
)

// table prints rows as gh does: aligned columns under a header on a
// terminal, and tab-separated values without a header otherwise, so
// scripts can cut(1) them.
type table struct {
	w      io.Writer
	tty    bool
	header []string
	rows   [][]string
}

func newTable(w io.Writer, tty bool, header ...string) *table {
	return &table{w: w, tty: tty, header: header}
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) print() error {
	if !t.tty {
		for _, r := range t.rows {
			if _, err := io.WriteString(t.w, strings.Join(r, "\t")+"\n"); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(t.w, 0, 0, 2, ' ', 0)
	for _, r := range append([][]string{t.header}, t.rows...) {
		for i, c := range r {
			if c == "" {
				c = "-"
			}
			if i > 0 {
				io.WriteString(tw, "\t")
			}
			io.WriteString(tw, c)
		}
		io.WriteString(tw, "\n")
	}
	return tw.Flush()
}
