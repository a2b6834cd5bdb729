// Package alertmanager is the channel that feeds Prometheus Alertmanager:
// each target that is DOWN becomes one alert (alertname PollerdTargetDown,
// labels target and group) posted to every configured Alertmanager, kept
// firing by a re-post every minute with endsAt three minutes ahead, and
// resolved by one post whose endsAt is the recovery time. Several pollerd
// instances posting the same labels make one alert in Alertmanager, which
// deduplicates, groups and routes it (to Slack, a pager…); the instance is
// an annotation (reporter), never a label.
//
// The channel owns the set of firing targets and the loop that re-posts
// them: Restore fills the set from the open incidents at start, Run starts
// the loop, Close stops it. Other message kinds (client reports, notices)
// are not Alertmanager's business: Notify accepts and drops them.
package alertmanager
