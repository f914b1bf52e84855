package emulator

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxCompanyName is the length of BC's Company.Name (Text[30]).
const maxCompanyName = 30

// RenameCompany renames a company of a tenant's environment while the emulator serves, as an
// admin's Rename action in BC would: its id and data stay, ?company= finds it only by the new
// name, and a connection that kept the old name no longer finds it. idOrName is the company's
// id or current name; a display name equal to the old name follows the new one.
func (e *Emulator) RenameCompany(tenantID, environment, idOrName, newName string) error {
	if strings.TrimSpace(newName) == "" || utf8.RuneCountInString(newName) > maxCompanyName {
		return fmt.Errorf("emulator: a company name must be 1 to %d characters, got %q", maxCompanyName, newName)
	}
	t := e.tenant(tenantID)
	if t == nil {
		return fmt.Errorf("emulator: tenant %q has no Business Central", tenantID)
	}
	env := t.env(environment)
	if env == nil {
		return fmt.Errorf("emulator: tenant %q has no environment %q", tenantID, environment)
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	var target *company
	for _, c := range env.companies {
		if strings.EqualFold(c.ID, idOrName) || c.Name == idOrName {
			target = c
		}
	}
	if target == nil {
		return fmt.Errorf("emulator: environment %q has no company %q", environment, idOrName)
	}
	for _, c := range env.companies {
		if c != target && strings.EqualFold(c.Name, newName) {
			return fmt.Errorf("emulator: environment %q has a company %q already", environment, c.Name)
		}
	}
	if target.DisplayName == target.Name {
		target.DisplayName = newName
	}
	target.Name = newName
	return nil
}
