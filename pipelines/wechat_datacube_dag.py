"""Airflow DAG: every account of `[[sources.wechat_datacube.accounts]]`, daily after 08:00
Beijing time, into one dataset.

Copy this file into the DAGs folder, put the accounts and the destination's credentials in
the Airflow workers' `.dlt/secrets.toml` (or environment variables), and install
`wechat-datacube-source[postgres]` (or the extra of your destination) on the workers.

* One task per account (in a task group named like its pipeline): each account is its own dlt
  pipeline, with its own state, restored from the destination on every run since the task
  works in a fresh folder (workers keep no local files). One account failing (a bad secret,
  its daily quota) leaves the others alone.
* An account with an endpoint `partial` or `failed` fails its task, through
  `raise_on_incomplete`, after its load: the rows it fetched stay loaded, and the task's
  retries and failure alerts work as for any task (set `retries` in `default_args`; a rerun
  resumes where the run stopped).
* 08:30 Asia/Shanghai: WeChat finishes yesterday by 08:00 Beijing time; the margin covers the
  mornings it is late (a late day is not loaded and is fetched again the next morning).
* The ready-made views are created once all accounts are done, whatever their outcome; the
  DAG run fails (`every_account_loaded`) if any account did not load in full.

DuckDB does not suit Airflow (workers share no file): set WECHAT_DATACUBE_DESTINATION to any
other dlt destination (default postgres).
"""

import os
import tempfile

import dlt
import pendulum

from wechat_datacube_source import account_sources, raise_on_incomplete, scope_day_merges
from wechat_datacube_source.targets import DATASET_NAME
from wechat_datacube_source.views import create_views

try:  # Airflow 3
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, TaskGroup
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.empty import EmptyOperator
    from airflow.operators.python import PythonOperator
    from airflow.utils.task_group import TaskGroup

DAG_ID = "wechat_datacube"
BEIJING = "Asia/Shanghai"
SCHEDULE = "30 8 * * *"
DESTINATION = os.environ.get("WECHAT_DATACUBE_DESTINATION", "postgres")


def account_pipeline(pipeline_name: str, pipelines_dir: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        pipelines_dir=pipelines_dir,
        destination=DESTINATION,
        dataset_name=DATASET_NAME,
    )


def load_account(pipeline_name: str) -> None:
    """Loads one account; fails the task if some endpoint is partial or failed."""
    (account,) = [a for a in account_sources() if a.pipeline_name == pipeline_name]
    with tempfile.TemporaryDirectory() as folder:
        pipeline = account_pipeline(pipeline_name, folder)
        scope_day_merges(account.source, pipeline.destination.destination_name)
        load_info = pipeline.run(account.source)
        print(load_info)
        raise_on_incomplete(pipeline, load_info)


def refresh_views(pipeline_name: str) -> None:
    """Creates the views once every account is done; any account's pipeline will do, as the
    views look for their tables in the shared dataset."""
    with tempfile.TemporaryDirectory() as folder:
        create_views(account_pipeline(pipeline_name, folder))


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
        with TaskGroup(group_id=account.pipeline_name):
            loads.append(
                PythonOperator(
                    task_id="load",
                    python_callable=load_account,
                    op_args=[account.pipeline_name],
                )
            )
    views = PythonOperator(
        task_id="create_views",
        python_callable=refresh_views,
        op_args=[accounts[0].pipeline_name],
        trigger_rule="all_done",
    )
    # a leaf that fails unless every account loaded in full: a DAG run's state follows its
    # leaves, and the views (made whatever the accounts' outcome) would otherwise show the
    # run green with an account failed
    every_account = EmptyOperator(task_id="every_account_loaded", trigger_rule="all_success")
    for load in loads:
        load >> [views, every_account]
