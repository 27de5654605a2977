"""Load WeChat Official Account statistics into DuckDB (or any dlt destination).

The dlt-style pipeline script: the same code as `wechat-datacube run`, with the same options
(`python pipelines/wechat_datacube_pipeline.py --help`). To load from your own code instead:

    import dlt
    from wechat_datacube_source import wechat_datacube

    pipeline = dlt.pipeline("wechat_datacube", destination="duckdb", dataset_name="wechat")
    pipeline.run(wechat_datacube())
"""

from wechat_datacube_source.cli import run

if __name__ == "__main__":
    run(prog_name="wechat_datacube_pipeline.py")
