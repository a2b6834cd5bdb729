// Package slack delivers alert messages to Slack, through an incoming
// webhook (Webhook) or, later, the Web API with a bot token (Bot). It owns
// how a message looks in Slack (Payload) and how Slack's answers are
// classified for the outbox: delivered, retry, retry after, or permanent.
// Nothing it returns or logs contains the webhook URL or the token.
package slack
