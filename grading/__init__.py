"""Grading core (评分与发证): psychometrics, scoring, level decisions, publicity and
certificates. The numeric modules import only numpy and scipy. Never imports Flask."""
