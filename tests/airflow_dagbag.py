"""Run in Airflow's environment: load a DAG folder with Airflow's own DagBag, print JSON.

$AIRFLOW_ENV/bin/python tests/airflow_dagbag.py DAGS_FOLDER
"""

import json
import sys

from airflow.dag_processing.dagbag import DagBag


def uris(node):
    """Asset URIs in a (nested) asset condition."""
    if node is None:
        return set()
    if getattr(node, "uri", None):
        return {node.uri}
    return set().union(*(uris(o) for o in getattr(node, "objects", ())))


bag = DagBag(dag_folder=sys.argv[1], safe_mode=True)
out = {"import_errors": {k: v[-800:] for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    tasks = {}
    for task in dag.tasks:
        info = {
            "type": type(task).__name__,
            "upstream": sorted(task.upstream_task_ids),
            "trigger_rule": str(task.trigger_rule),
            "retries": task.retries,
            "outlets": [getattr(o, "uri", str(o)) for o in task.outlets],
        }
        for attr in (
            "network_mode",
            "user",
            "mem_limit",
            "hardening",
            "mounts",
            "image",
            "command",
            "auto_remove",
            "mount_tmp_dir",
            "container_name",
            "hostname",
            "application",
            "application_args",
            "step",
            "python",
        ):
            if hasattr(task, attr):
                value = getattr(task, attr)
                info[attr] = (
                    value
                    if isinstance(value, str | int | float | list | dict | None)
                    else str(value)
                )
        tasks[task.task_id] = info
    timetable = dag.timetable
    schedule = getattr(timetable, "expression", None) or type(timetable).__name__
    assets = sorted(uris(getattr(timetable, "asset_condition", None)))
    out["dags"][dag_id] = {
        "tasks": tasks,
        "schedule": schedule,
        "assets": assets,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "tags": sorted(dag.tags),
    }
print(json.dumps(out, default=str))
