package alert

import "github.com/pollerd/pollerd/internal/incident"

// Sink takes what a stage decided: a change for the store and the messages
// it announces, to be written together. The engine emits under its lock, in
// the order things happened, so an implementation keeps that order and never
// blocks on I/O.
type Sink interface {
	Emit(c incident.Change, msgs ...Message)
}

// Stage is a policy step between the engine and the outbox (grouping,
// reminders, silences): given the next sink, it returns a sink that may hold,
// fold or drop messages before passing them on. It passes every change on,
// held message or not: the store must see each incident.
type Stage func(next Sink) Sink

// Chain is where the stages meet: the sink the engine emits into, running
// stages in order, each wrapping the next, and ending in last (the outbox).
// With no stage it is last.
func Chain(last Sink, stages ...Stage) Sink {
	s := last
	for i := len(stages) - 1; i >= 0; i-- {
		s = stages[i](s)
	}
	return s
}
