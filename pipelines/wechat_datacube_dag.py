"""Airflow DAG: every account of `[[sources.wechat_datacube.accounts]]`, daily after 08:00
Beijing time, into one dataset.

Copy this file into the DAGs folder, put the accounts and the destination's credentials in
the Airflow workers' `.dlt/secrets.toml` (or environment variables), and install
`wechat-datacube-source[postgres]` (or the extra of your destination) on the workers.

* One task group per account, built by dlt's Airflow helper: each account is its own dlt
  pipeline (its own state, restored from the destination on every run, since workers keep no
  local files), so one account failing (a bad secret, its daily quota) leaves the others alone.
* 08:30 Asia/Shanghai: WeChat finishes yesterday by 08:00 Beijing time; the margin covers the
  mornings it is late (a late day is not loaded and is fetched again the next morning).
* The ready-made views are created once all accounts are done, whatever their outcome.
* An account whose endpoints stopped early still succeeds as a task: the load kept what was
  fetched, and `sync_log` (status `partial`/`failed`) says what is missing; alert on it there.

DuckDB does not suit Airflow (workers share no file): set WECHAT_DATACUBE_DESTINATION to any
other dlt destination (default postgres).
"""

import os

import dlt
import pendulum
from dlt.helpers.airflow_helper import PipelineTasksGroup

from wechat_datacube_source import account_sources
from wechat_datacube_source.cli import DATASET_NAME
from wechat_datacube_source.views import create_views

try:  # Airflow 3
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.python import PythonOperator

DAG_ID = "wechat_datacube"
BEIJING = "Asia/Shanghai"
SCHEDULE = "30 8 * * *"
DESTINATION = os.environ.get("WECHAT_DATACUBE_DESTINATION", "postgres")


def account_pipeline(pipeline_name: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=pipeline_name, destination=DESTINATION, dataset_name=DATASET_NAME
    )


def refresh_views(pipeline_name: str) -> None:
    """Creates the views once every account is done; any account's pipeline will do, as the
    views look for their tables in the shared dataset."""
    create_views(account_pipeline(pipeline_name))


with DAG(
    dag_id=DAG_ID,
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz=BEIJING),
    catchup=False,  # the source's own state decides what to fetch, not the run's date
    max_active_runs=1,
    default_args={"retries": 0},
    tags=["wechat", "dlt"],
) as dag:
    accounts = account_sources()
    loads = []
    for account in accounts:
        group = PipelineTasksGroup(
            account.pipeline_name, use_data_folder=False, wipe_local_data=True
        )
        group.add_run(
            account_pipeline(account.pipeline_name),
            account.source,
            decompose="none",
            trigger_rule="all_done",
            retries=0,
        )
        loads.append(group)
    views = PythonOperator(
        task_id="create_views",
        python_callable=refresh_views,
        op_args=[accounts[0].pipeline_name],
        trigger_rule="all_done",
    )
    for group in loads:
        group >> views
