"""Publishing page-view events from outside the system, as any MQTT 5 client would."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def page_view(path: str = "/products/1", **overrides) -> dict:
    event = {"id": str(uuid.uuid4()), "path": path, "clientIp": "127.0.0.1",
             "ts": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
    return event | overrides


def publish(port: int, payload: bytes | str | dict, user_properties: dict[str, str] | None = None,
            topic: str = "analytics") -> None:
    """One QoS 1 publish, waiting for the broker's PUBACK."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"e2e-{uuid.uuid4()}",
                         protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        properties = Properties(PacketTypes.PUBLISH)
        if user_properties:
            properties.UserProperty = list(user_properties.items())
        body = json.dumps(payload) if isinstance(payload, dict) else payload
        client.publish(topic, body, qos=1, properties=properties).wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()
