package cffake

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

type bucket struct {
	name, location, storageClass string
	created                      time.Time
	objects                      int // only counted: R2 objects are not part of this API
}

func (b *bucket) json() map[string]any {
	return map[string]any{
		"name":          b.name,
		"creation_date": stamp(b.created),
		"location":      b.location,
		"storage_class": b.storageClass,
		"jurisdiction":  "default",
	}
}

// validBucketName is R2's rule: 3-63 lowercase letters, digits and hyphens,
// not starting or ending with a hyphen.
func validBucketName(name string) bool {
	return len(name) >= 3 && len(name) <= 63 && validSubdomain(name)
}

func (a *account) bucketNames() []string {
	return slices.Sorted(maps.Keys(a.buckets))
}

func (s *Server) listBuckets(c *call) {
	contains := c.r.URL.Query().Get("name_contains")
	out := []map[string]any{}
	for _, n := range c.acct.bucketNames() {
		if strings.Contains(n, contains) {
			out = append(out, c.acct.buckets[n].json())
		}
	}
	c.list(map[string]any{"buckets": out}, map[string]any{"cursor": "", "per_page": 1000})
}

func (s *Server) getBucket(c *call) {
	b := c.acct.buckets[c.p["bucket"]]
	if b == nil {
		c.fail(http.StatusNotFound, 10006, "The specified bucket does not exist.")
		return
	}
	c.ok(b.json())
}

func (s *Server) createBucket(c *call) {
	var in struct {
		Name         string `json:"name"`
		LocationHint string `json:"locationHint"`
		StorageClass string `json:"storageClass"`
	}
	if !c.decode(&in) {
		return
	}
	if !validBucketName(in.Name) {
		c.fail(http.StatusBadRequest, 10005, "The specified bucket name is not valid.")
		return
	}
	if c.acct.buckets[in.Name] != nil {
		c.fail(http.StatusConflict, 10004, "The bucket you tried to create already exists, and you own it.")
		return
	}
	b := c.acct.addBucket(in.Name)
	if in.LocationHint != "" {
		b.location = strings.ToUpper(in.LocationHint)
	}
	if in.StorageClass != "" {
		b.storageClass = in.StorageClass
	}
	c.ok(b.json())
}

func (a *account) addBucket(name string) *bucket {
	b := &bucket{name: name, location: "ENAM", storageClass: "Standard", created: time.Now()}
	a.buckets[name] = b
	return b
}

func (s *Server) deleteBucket(c *call) {
	name := c.p["bucket"]
	if c.acct.buckets[name] == nil {
		c.fail(http.StatusNotFound, 10006, "The specified bucket does not exist.")
		return
	}
	if c.acct.buckets[name].objects > 0 {
		c.fail(http.StatusConflict, 10008, "The bucket you tried to delete is not empty.")
		return
	}
	delete(c.acct.buckets, name)
	c.ok(map[string]any{})
}
