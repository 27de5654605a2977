"""Load WeChat Official Account statistics into DuckDB (or any dlt destination).

The dlt-style pipeline script: the command's code (`wechat_datacube_source.cli`), run as
`python pipelines/wechat_datacube_pipeline.py --help` for its options. To load from your own
code instead:

    import dlt
    from wechat_datacube_source import wechat_datacube

    pipeline = dlt.pipeline("wechat_datacube", destination="duckdb", dataset_name="wechat")
    pipeline.run(wechat_datacube())
"""

import sys

from wechat_datacube_source.cli import main

if __name__ == "__main__":
    sys.exit(main())
