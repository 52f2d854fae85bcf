"""Exam room core (考务): batches and plans, rooms and seats, attempts and responses, the
attempt state machine and its clock, proctor actions and incidents. Never imports Flask."""
