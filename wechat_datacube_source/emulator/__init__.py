"""A local emulator of the WeChat statistics API, for tests, the demo and benchmarks.

    from wechat_datacube_source.emulator import Emulator

    with Emulator() as api:          # serves on 127.0.0.1, a free port
        print(api.base_url)          # point the source's base_url here
        api.add_fault(FaultRule("errcode", errcode=-1, every=3))

Run it stand-alone with `python -m wechat_datacube_source.emulator --port 8080`.
"""

from .faults import FaultRule
from .server import DEMO_APP_ID, DEMO_APP_SECRET, Emulator, RequestRecord

__all__ = ["DEMO_APP_ID", "DEMO_APP_SECRET", "Emulator", "FaultRule", "RequestRecord"]
