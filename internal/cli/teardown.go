package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/charmbracelet/huh"
	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/deploy"
)

type teardownOptions struct {
	accountID string
	yes       bool
}

func newTeardownCmd(ios *IOStreams, runF func(context.Context, *teardownOptions) error) *cobra.Command {
	o := &teardownOptions{}
	cmd := &cobra.Command{
		Use:   "teardown",
		Short: "Delete what dsctl setup deployed: workers, their data, the registry, the bucket",
		Long: `Delete the deployment recorded in dsctl.toml from Cloudflare: the subscription
and core workers (and with them their Durable Objects: every stream, session
and subscription), the KV namespace holding the project registry, and the R2
bucket. There is no undo.

R2 deletes only empty buckets and its objects cannot be removed through the
Cloudflare API: a bucket that still holds cold segments is kept and named;
empty it in the dashboard and run teardown again (what is already gone
counts as done). The [cloudflare] table leaves dsctl.toml once everything
is gone; the sources in ./workers stay, they are yours.

On a terminal dsctl asks you to type the core worker's name; elsewhere
--yes is required.`,
		Example: `  dsctl teardown
  dsctl teardown --yes`,
		Args: namedArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runTeardown(cmd.Context(), ios, o)
		},
	}
	cmd.Flags().StringVar(&o.accountID, "account-id", "", "Cloudflare account id (default: dsctl.toml's)")
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "delete without asking")
	return cmd
}

func runTeardown(ctx context.Context, ios *IOStreams, o *teardownOptions) error {
	ds, err := loadDeployState("teardown")
	if err != nil {
		return err
	}
	st := *ds.State
	if !o.yes && !ios.CanPrompt() {
		return withHint(errors.New("teardown: --yes is required when not on a terminal (it deletes the deployment and its data)"),
			"dsctl teardown --yes")
	}
	cf, err := connectCloudflare(ctx, ios, "teardown", o.accountID, st.AccountID)
	if err != nil {
		return err
	}
	st.AccountID = cf.AccountID
	if !o.yes {
		var what []string
		if st.SubscriptionWorker != "" {
			what = append(what, "worker "+st.SubscriptionWorker)
		}
		what = append(what, "worker "+st.CoreWorker+" (every stream in it)", "KV namespace "+st.KVNamespaceTitle+" (every project)")
		if st.Bucket != "" {
			what = append(what, "R2 bucket "+st.Bucket)
		}
		fmt.Fprintf(ios.ErrOut, "This deletes from account %s:\n  %s\n", st.AccountID, strings.Join(what, "\n  "))
		var typed string
		if err := runForm(ios, huh.NewInput().
			Title("Type "+st.CoreWorker+" to delete it all:").
			Value(&typed)); err != nil {
			return err
		}
		if strings.TrimSpace(typed) != st.CoreWorker {
			return errCancelled
		}
	}
	rep := newStepReporter(ios)
	if err := deploy.Teardown(ctx, cf.API, &st, rep); err != nil {
		if errors.Is(err, deploy.ErrBucketNotEmpty) {
			return withHint(fmt.Errorf("teardown: R2 bucket %s still holds objects, so it was kept (the rest is gone)", st.Bucket),
				"empty it in the Cloudflare dashboard (R2 → "+st.Bucket+"), then run dsctl teardown again")
		}
		return deployError("teardown", err)
	}
	if err := forgetDeployState(ds.Path); err != nil {
		return err
	}
	successf(ios, "Deleted the deployment; ./%s is left as it is", ds.State.WorkersDir)
	return nil
}

// forgetDeployState drops the [cloudflare] table from dsctl.toml, and the
// file itself when nothing else is in it.
func forgetDeployState(path string) error {
	var pf projectFile
	if _, err := toml.DecodeFile(path, &pf); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	pf.Cloudflare = nil
	if pf == (projectFile{}) {
		return os.Remove(path)
	}
	return saveDeployState(path, nil)
}
