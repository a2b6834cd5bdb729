// Package alerttest holds test helpers shared by the alert stages, the
// channels and the end-to-end tests of the binary: a recording fake Slack
// incoming webhook on loopback, the leak check every channel's tests run on
// its errors and logs, an in-memory store and a settable clock. It is
// imported only from tests, and imports no alert package.
package alerttest
