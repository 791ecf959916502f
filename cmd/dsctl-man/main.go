// Command dsctl-man writes dsctl's man pages (section 1) from its cobra
// command tree: dsctl.1, one page per command (dsctl-serve.1,
// dsctl-stream-append.1, …) and one per help topic (dsctl-exit-codes.1, …).
//
//	go run ./cmd/dsctl-man -dir manpages -version v1.2.3
//
// It is a separate program, not a hidden `dsctl man` command, so the
// released dsctl binary does not carry cobra/doc and go-md2man. The page
// date is SOURCE_DATE_EPOCH when set (reproducible builds), else today.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/dsctl/dsctl/internal/cli"
)

func main() {
	dir := flag.String("dir", "manpages", "directory to write the pages into (created if missing)")
	version := flag.String("version", "", "version shown in the pages' footer (default: none)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: dsctl-man [-dir DIR] [-version VERSION]")
		os.Exit(2)
	}
	if err := run(*dir, *version); err != nil {
		fmt.Fprintln(os.Stderr, "dsctl-man:", err)
		os.Exit(1)
	}
}

func run(dir, version string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root := cli.Command()
	root.DisableAutoGenTag = true // no "Auto generated … <date>" line
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag() // cobra adds --version only when executing
	source := "dsctl"
	if version != "" {
		source += " " + strings.TrimPrefix(version, "v")
	}
	header := func() *doc.GenManHeader {
		return &doc.GenManHeader{Section: "1", Source: source, Manual: "dsctl Manual"}
	}
	if err := doc.GenManTree(root, header(), dir); err != nil {
		return err
	}
	// GenManTree skips help topics (`dsctl help exit-codes`); write them too.
	for _, c := range root.Commands() {
		if !c.IsAdditionalHelpTopicCommand() || c.Hidden {
			continue
		}
		if err := writePage(c, header(), filepath.Join(dir, "dsctl-"+c.Name()+".1")); err != nil {
			return err
		}
	}
	return nil
}

func writePage(c *cobra.Command, h *doc.GenManHeader, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := doc.GenMan(c, h, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
