"""Socket.IO test clients of the exam and proctor namespaces, logged in as a given user
(fixtures only, no tests): ``candidate_socket``, ``console_socket``, ``login_as``, ``http_as``,
``call`` (emit with acknowledgement) and ``supervisor_of`` (a supervisor dispatched to an exam).
"""

from __future__ import annotations

from sqlalchemy import select

from examroom.models import BatchStaff
from tests.factories import PASSWORD, ticket_no

EXAM = "/exam"


NS = "/proctor"


def supervisor_of(session, exam):
    return session.scalar(select(BatchStaff).where(BatchStaff.batch_id == exam.sitting.module.batch_id,
                                                   BatchStaff.role == "supervisor")).user


def http_as(app, user):
    http = app.test_client()
    if user.role == "candidate":
        resp = http.post("/login/candidate", data={"ticket_no": ticket_no(user), "id_number": user.id_number})
    else:
        resp = http.post("/login", data={"username": user.username, "password": PASSWORD})
    assert resp.status_code == 302
    return http


def console_socket(app, user):
    from web.extensions import socketio

    return socketio.test_client(app, namespace=NS, flask_test_client=http_as(app, user))


def candidate_socket(app, user, attempt_id, device="device-one"):
    from web.extensions import socketio

    sock = socketio.test_client(app, namespace=EXAM, auth={"attempt_id": attempt_id, "device_id": device},
                                flask_test_client=http_as(app, user))
    assert sock.is_connected(EXAM)
    return sock


def call(sock, event, payload):
    return sock.emit(event, payload, namespace=NS, callback=True)


def login_as(client, user):
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    return client
