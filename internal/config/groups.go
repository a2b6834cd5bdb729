package config

// TargetGroups maps each target in a group to its group's name; targets in
// no group are left out.
func (c *Config) TargetGroups() map[string]string {
	m := make(map[string]string)
	for _, t := range c.Targets {
		if t.Group != "" {
			m[t.Name] = t.Group
		}
	}
	return m
}

// Groups maps each group's name to its members, in the order of the file.
func (c *Config) Groups() map[string][]string {
	m := make(map[string][]string)
	for _, t := range c.Targets {
		if t.Group != "" {
			m[t.Group] = append(m[t.Group], t.Name)
		}
	}
	return m
}
