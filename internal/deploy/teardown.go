package deploy

import (
	"context"
	"errors"
	"net/http"
	"slices"
)

// ErrBucketNotEmpty means teardown kept the R2 bucket: R2 deletes only
// empty buckets, and its objects are not reachable through this API.
var ErrBucketNotEmpty = errors.New("the R2 bucket is not empty")

// Teardown deletes what setup created: the workers (subscription first,
// since it binds to core; with them their Durable Objects and every
// stream), the KV namespace (the registry) and the R2 bucket. Anything
// already gone counts as done, so a re-run finishes an interrupted one.
// A bucket that still holds objects is kept and reported with
// ErrBucketNotEmpty once the rest is gone.
func Teardown(ctx context.Context, api *API, st *State, rep Reporter) error {
	gone := func(err error) (string, error) {
		if IsStatus(err, http.StatusNotFound) {
			return "already gone", nil
		}
		if err != nil {
			return "", err
		}
		return "deleted", nil
	}
	comps := orderComponents(st.Components)
	slices.Reverse(comps)
	for _, comp := range comps {
		name := st.CoreWorker
		if comp == Subscription {
			name = st.SubscriptionWorker
		}
		if name == "" {
			continue
		}
		if err := doStep(rep, "delete worker "+name, func() (string, error) {
			return gone(api.DeleteScript(ctx, st.AccountID, name))
		}); err != nil {
			return err
		}
	}
	if st.KVNamespaceID != "" {
		if err := doStep(rep, "delete KV namespace "+st.KVNamespaceTitle, func() (string, error) {
			return gone(api.DeleteNamespace(ctx, st.AccountID, st.KVNamespaceID))
		}); err != nil {
			return err
		}
	}
	if st.Bucket == "" {
		return nil
	}
	var notEmpty bool
	if err := doStep(rep, "delete R2 bucket "+st.Bucket, func() (string, error) {
		err := api.DeleteBucket(ctx, st.AccountID, st.Bucket)
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusConflict {
			notEmpty = true
			return "kept: it still holds objects (cold segments)", nil
		}
		return gone(err)
	}); err != nil {
		return err
	}
	if notEmpty {
		return &StepError{"delete R2 bucket " + st.Bucket, ErrBucketNotEmpty}
	}
	return nil
}
