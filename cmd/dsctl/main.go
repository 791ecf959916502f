// Command dsctl runs, deploys and tails Durable Streams.
package main

import (
	"os"

	"github.com/dsctl/dsctl/internal/cli"
)

func main() {
	os.Exit(int(cli.Main()))
}
