"""Psychometrics (题目分析与标定): response sets, CTT and IRT calibration, item fit, DIF,
linking and drift, the analysis reports. The numeric modules (``em``, ``irt``, ``grm``,
``ability``, ``ctt``, ``fit``, ``dif``, ``linking``, ``drift``, ``report_stats``) import only
numpy and scipy; the services (``responses``, ``exam_responses``, ``calibration``,
``reports``, ``report_excel``) load and store through SQLAlchemy. Never imports Flask."""
