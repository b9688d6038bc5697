package protocol

import (
	"encoding/binary"
	"encoding/json"
)

// Delivery describes an AMQP message for the handler, with pika's names so
// 1.6.2 handlers read basic_deliver and properties unchanged.
type Delivery struct {
	DeliveryTag uint64     `json:"delivery_tag"`
	Redelivered bool       `json:"redelivered"`
	Exchange    string     `json:"exchange"`
	RoutingKey  string     `json:"routing_key"`
	ConsumerTag string     `json:"consumer_tag"`
	Properties  Properties `json:"properties"`
}

// Properties are AMQP basic properties, named as pika.BasicProperties.
type Properties struct {
	ContentType     string         `json:"content_type,omitempty"`
	ContentEncoding string         `json:"content_encoding,omitempty"`
	Headers         map[string]any `json:"headers,omitempty"`
	DeliveryMode    uint8          `json:"delivery_mode,omitempty"`
	Priority        uint8          `json:"priority,omitempty"`
	CorrelationID   string         `json:"correlation_id,omitempty"`
	ReplyTo         string         `json:"reply_to,omitempty"`
	Expiration      string         `json:"expiration,omitempty"`
	MessageID       string         `json:"message_id,omitempty"`
	Timestamp       int64          `json:"timestamp,omitempty"` // epoch seconds
	Type            string         `json:"type,omitempty"`
	UserID          string         `json:"user_id,omitempty"`
	AppID           string         `json:"app_id,omitempty"`
}

// Settle is the handler's basic_ack, basic_nack or basic_reject.
type Settle struct {
	DeliveryTag uint64 `json:"delivery_tag"`
	Op          string `json:"op"` // "ack", "nack" or "reject"
	Requeue     bool   `json:"requeue"`
	Multiple    bool   `json:"multiple"`
}

// MessageDone says the handler returned; Error holds the traceback if it
// raised.
type MessageDone struct {
	Error string `json:"error,omitempty"`
}

// Publish is the handler's basic_publish.
type Publish struct {
	Exchange   string     `json:"exchange"`
	RoutingKey string     `json:"routing_key"`
	Mandatory  bool       `json:"mandatory"`
	Properties Properties `json:"properties"`
}

// AppendMeta appends a frame whose payload is a JSON header (u32 length
// first) followed by a raw body: messages and publishes.
func AppendMeta(dst []byte, t Type, stream uint32, meta any, body []byte) ([]byte, error) {
	js, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	n := 4 + len(js) + len(body)
	if n > MaxPayload {
		return nil, ErrFrameTooLarge
	}
	dst = AppendHeader(dst, t, 0, stream, n)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(js)))
	dst = append(dst, js...)
	return append(dst, body...), nil
}

// DecodeMeta splits a payload made by AppendMeta, decoding its header into
// meta; the body aliases p.
func DecodeMeta(p []byte, meta any) ([]byte, error) {
	if len(p) < 4 {
		return nil, ErrMalformed
	}
	n := int(binary.BigEndian.Uint32(p))
	if n > len(p)-4 {
		return nil, ErrMalformed
	}
	if err := json.Unmarshal(p[4:4+n], meta); err != nil {
		return nil, ErrMalformed
	}
	return p[4+n:], nil
}
