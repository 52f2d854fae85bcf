"""Socket.IO packets carry Chinese as UTF-8, not as \\u escapes (half the bytes of a paper),
and a lone surrogate from a client can never make a packet unsendable."""

from __future__ import annotations

import json

import socketio

from web.sockets import wirejson


def test_chinese_goes_out_as_utf8_and_round_trips():
    data = {"stem_html": "<p>在低压配电线路的检修作业中</p>", "n": 1}
    text = wirejson.dumps(data, separators=(",", ":"))
    assert "在低压配电线路" in text and "\\u" not in text
    assert len(text.encode()) < len(json.dumps(data, separators=(",", ":")).encode()) * 0.7
    assert wirejson.loads(text) == data


def test_a_lone_surrogate_falls_back_to_escapes():
    data = {"value": "a\ud800b", "name": "考生"}
    text = wirejson.dumps(data)
    text.encode("utf-8")  # sendable
    assert "\\ud800" in text and wirejson.loads(text) == data


def test_the_app_encodes_its_packets_with_it(app):
    packet = socketio.packet.Packet(socketio.packet.EVENT, data=["state", {"title": "电工四级"}], namespace="/exam")
    assert "电工四级" in packet.encode()
