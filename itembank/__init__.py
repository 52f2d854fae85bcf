"""Item bank core (题库): blueprints (细目表), items and versions, review workflow, sanitising,
import/export and paper assembly (组卷). Never imports Flask."""
