package incident

// KindGroup is an outage of several members of a target group announced as
// one: its Subject is the group's name, its Cause lists the members it
// announced (written by alert's group stage, which reads it back at start).
const KindGroup = "group"
