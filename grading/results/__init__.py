"""Results (成绩与发证): from component results to level decisions, publicity and certificates.

Today it holds the pure level-decision engine (:mod:`grading.results.decision`) and its JSON
form (:mod:`grading.results.decision_json`); the stored component results, publicity and
certificates come later. Nothing here imports Flask or touches a database.
"""
