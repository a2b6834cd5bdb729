package outbox

import (
	"encoding/json"
	"strings"

	"github.com/pollerd/pollerd/internal/alert"
)

// payloadVersion marks rows written since messages became neutral (plain
// text; channels escape). Rows without it were written by an older
// pollerd: their texts are Slack mrkdwn, escaped, with Slack's emoji.
const payloadVersion = 2

// payload is an outbox row's JSON: the message and its version.
type payload struct {
	V int `json:"v,omitempty"`
	alert.Message
}

func encode(m alert.Message) ([]byte, error) {
	return json.Marshal(payload{V: payloadVersion, Message: m})
}

// decode reads a row back into a neutral message, whichever pollerd wrote it.
func decode(raw []byte) (alert.Message, error) {
	var p payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return alert.Message{}, err
	}
	if p.V < payloadVersion {
		upgradeV1(&p.Message)
	}
	return p.Message, nil
}

// upgradeV1 turns a message pending from before the upgrade into a neutral
// one, so it is delivered as it would have been: mrkdwn entities decoded
// (the channel escapes again) and the emoji that the channel puts back
// taken off. Escaping was &, <, > only, and a cut never split an entity,
// so this is exact.
func upgradeV1(m *alert.Message) {
	m.Text = unescapeV1.Replace(stripEmojiV1(m.Text))
	m.Title = unescapeV1.Replace(stripEmojiV1(m.Title))
	m.Detail = unescapeV1.Replace(m.Detail)
	for i := range m.Fields {
		m.Fields[i].Value = unescapeV1.Replace(m.Fields[i].Value)
	}
}

var unescapeV1 = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// emojiV1 are the prefixes the old messages carried, by kind.
var emojiV1 = []string{"🔴 ", "✅ ", "⚠️ "}

func stripEmojiV1(s string) string {
	for _, e := range emojiV1 {
		if rest, ok := strings.CutPrefix(s, e); ok {
			return rest
		}
	}
	return s
}
