// Package alerttest holds test helpers shared by the alert channels and the
// end-to-end tests of the binary: a recording fake Slack incoming webhook on
// loopback, and the leak check every channel's tests run on its errors and
// logs. It is imported only from tests.
package alerttest
