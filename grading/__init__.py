"""Grading core (评分与发证). Two subpackages: ``psychometrics`` (response sets, calibration,
item analysis and its reports) and ``results`` (component scores and the level decision; later
publicity and certificates). ``python -m grading.decide`` runs the decision engine on one JSON
case. The numeric modules import only numpy and scipy. Never imports Flask."""
