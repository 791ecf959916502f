// Package templates holds the Cloudflare worker code that dsctl ships:
// plain JavaScript ES modules and wrangler.toml templates, uploaded as
// they are (no npm dependencies, no build step).
package templates

import "embed"

// FS holds every template file, under its directory (core/..., subscription/...).
//
//go:embed all:core all:subscription
var FS embed.FS
