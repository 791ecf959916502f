package cffake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// migrations is metadata.migrations: one step inline, or "steps".
type migrations struct {
	OldTag string `json:"old_tag"`
	NewTag string `json:"new_tag"`
	migrationStep
	Steps []migrationStep `json:"steps"`
}

type migrationStep struct {
	NewClasses         []string    `json:"new_classes"`
	NewSqliteClasses   []string    `json:"new_sqlite_classes"`
	DeletedClasses     []string    `json:"deleted_classes"`
	RenamedClasses     []classMove `json:"renamed_classes"`
	TransferredClasses []classMove `json:"transferred_classes"`
}

type classMove struct {
	From       string `json:"from"`
	FromScript string `json:"from_script"`
	To         string `json:"to"`
}

func (m migrationStep) empty() bool {
	return len(m.NewClasses)+len(m.NewSqliteClasses)+len(m.DeletedClasses)+
		len(m.RenamedClasses)+len(m.TransferredClasses) == 0
}

// refusal is an upload the real API would turn down.
type refusal struct {
	status, code int
	msg          string
}

func refuse(code int, format string, args ...any) *refusal {
	return &refusal{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

// migrated is the Durable Object state an upload leaves behind.
type migrated struct {
	tag       string
	classes   map[string]bool // class → SQLite-backed
	transfers []classMove     // classes to take from other scripts on commit
}

// migrate applies metadata.migrations to the script's current tag and
// classes (into st, which the caller owns). The tag is an optimistic lock:
// old_tag must be the current tag, "" for a script that does not exist yet.
func (a *account) migrate(raw json.RawMessage, st *migrated) *refusal {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] != '{' {
		return refuse(10021, "metadata.migrations must be an object, not %s", raw[:1])
	}
	var m migrations
	if err := json.Unmarshal(raw, &m); err != nil {
		return refuse(10021, "could not parse metadata.migrations: %v", err)
	}
	if m.OldTag != st.tag {
		return refuse(10079, "Actor migration tag precondition failed, got tag '%s' when expected tag is '%s'. "+
			"Please make sure the tags match and try again.", m.OldTag, st.tag)
	}
	steps := m.Steps
	if len(steps) == 0 {
		steps = []migrationStep{m.migrationStep}
	} else if !m.migrationStep.empty() {
		return refuse(10021, "metadata.migrations has both steps and an inline migration")
	}
	for _, step := range steps {
		if r := a.applyStep(step, st); r != nil {
			return r
		}
	}
	if m.NewTag != "" {
		st.tag = m.NewTag
	}
	return nil
}

func (a *account) applyStep(step migrationStep, st *migrated) *refusal {
	create := func(kind string, classes []string, sqlite bool) *refusal {
		for _, c := range classes {
			if _, ok := st.classes[c]; ok {
				return refuse(10074, "Cannot apply %s migration to class '%s' that is already depended on", kind, c)
			}
			st.classes[c] = sqlite
		}
		return nil
	}
	if r := create("new-class", step.NewClasses, false); r != nil {
		return r
	}
	if r := create("new-sqlite-class", step.NewSqliteClasses, true); r != nil {
		return r
	}
	for _, c := range step.DeletedClasses {
		if _, ok := st.classes[c]; !ok {
			return refuse(10074, "Cannot apply deleted-class migration to class '%s' that does not exist", c)
		}
		delete(st.classes, c)
	}
	for _, mv := range step.RenamedClasses {
		sqlite, ok := st.classes[mv.From]
		if _, taken := st.classes[mv.To]; !ok || taken {
			return refuse(10074, "Cannot apply renamed-class migration from '%s' to '%s'", mv.From, mv.To)
		}
		delete(st.classes, mv.From)
		st.classes[mv.To] = sqlite
	}
	for _, mv := range step.TransferredClasses {
		src := a.scripts[mv.FromScript]
		sqlite, ok := false, false
		if src != nil {
			sqlite, ok = src.Classes[mv.From]
		}
		if _, taken := st.classes[mv.To]; !ok || taken {
			return refuse(10074, "Cannot apply transferred-class migration from '%s' in script '%s' to '%s'",
				mv.From, mv.FromScript, mv.To)
		}
		st.classes[mv.To] = sqlite
		st.transfers = append(st.transfers, mv)
	}
	return nil
}
