// Package alert turns target transitions and client reports into incidents
// and neutral messages. It is a pipeline of stages, each behind a small
// interface:
//
//	monitor ──Transition──► Engine ──Emit──► stages… ──Emit──► outbox ──Notify──► channels
//	ingest ──Add/Settle──►    │                                (alert/outbox)   (alert/slack,
//	                         Dedup                                               alert/logsink…)
//
// The stages:
//
//   - Engine opens and closes incidents and composes their messages. It
//     knows nothing of queues, pacing or retries: it emits each change
//     (what the store must write) with the messages it announces into a Sink.
//   - Dedup folds client reports by fingerprint into windows, with its own
//     lock; it returns decisions (announce, count, absorb, overflow) and the
//     windows that ended, and the engine acts on them.
//   - A Sink is the next stage. alert/outbox implements the last one: one
//     outbox row per channel, written with the change in one store write,
//     then delivered, paced and retried.
//   - A policy stage (grouping, reminders, silences) is a Stage: it wraps the
//     next Sink and may hold, fold or drop messages before passing them on,
//     but always passes every change on. Chain composes them; cmd/pollerd
//     wires alert.Chain(outbox, stages…), so a new stage is one more argument
//     there, in order: engine → Grouping → Reminders → Canaries → cover
//     (windows, silences) → outbox. Grouping first, so later stages see one
//     grouped DOWN; canaries before the cover, so what the network hid is
//     re-probed before a window or silence judges it.
//   - A channel is a Notifier in its own sub-package. Messages are plain text
//     plus structured fields; each channel escapes and decorates them itself
//     (Slack's mrkdwn, emoji and Block Kit live in alert/slack).
package alert
