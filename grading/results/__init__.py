"""Results (成绩与发证): from component results to level decisions, publicity and certificates.

Today it holds the pure level-decision engine (:mod:`grading.results.decision`) and its JSON
form (:mod:`grading.results.decision_json`), the stored evaluation schemes and component results
(:mod:`grading.results.models`, :mod:`grading.results.schemes`), skill-operation scoring
(:mod:`grading.results.skill`) and the pure examiner statistics
(:mod:`grading.results.examiner_stats`); publicity and certificates come later. Nothing here
imports Flask.
"""
